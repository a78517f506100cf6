// The matcher of the stored content policies, replaced whole when they change: ingestion reads the
// current one without waiting, and keeps using it while a new one is compiled. The compiled matcher
// is stored beside the policies, so that a start loads it instead of compiling.
#pragma once

#include "ingest/policy_matcher.hpp"
#include "store/object_store.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace audex::ingest {

class policy_set {
  public:
    // Loads the stored matcher, or builds it from the stored policies (and stores it) when there
    // is none for them.
    explicit policy_set(store::object_store& objects);

    // The alerts of the records under the current policies.
    std::vector<alert> match(const std::vector<index::content_record>& records) const {
        return current_.load()->match(records);
    }
    std::shared_ptr<const policy_matcher> current() const { return current_.load(); }

    // Brings the matcher up to the committed policies where that is owed: after a write that
    // changed them (`own_change`, see generation()), it compiles, stores the compiled matcher and
    // publishes it, so that the write is answered with its policies in force; otherwise (ingests)
    // it returns at once, using the matcher in force, unless an earlier refresh failed, in which
    // case it rebuilds. A no-op (one read) when nothing changed. Call it after every write that
    // may touch a policy.
    void refresh(bool own_change = false);
    // The count of committed policy changes as `txn` sees it: a write that sees it change has
    // changed a policy.
    std::uint64_t generation(const store::transaction& txn) const;

    // In the write transaction that stores `policy` (a content_policy object; with its "id" when a
    // stored one is changed): the limits of policy_matcher.hpp, counting the patterns of the other
    // live policies for max_patterns, and each pattern parsed on its own. Nothing is compiled
    // here, since the writer is held. Throws api_exception with InvalidArgument.
    static void check(const store::transaction& txn, const store::object_store& objects,
                      const boost::json::object& policy);
    // In the transaction that creates, changes or deletes a policy: tells refresh() to rebuild.
    static void changed(store::transaction& txn, store::object_store& objects);

  private:
    void rebuild(bool force);

    store::object_store& objects_;
    std::atomic<std::shared_ptr<const policy_matcher>> current_;
    std::mutex rebuilding_;  // one rebuild at a time, so the last one sees the last commit
    // Refreshes that failed, and how many of them the matcher in force has made up for (a
    // rebuild that began after them): while they differ, every refresh rebuilds, since a write
    // whose own refresh failed was answered all the same.
    std::atomic<std::uint64_t> failures_{0}, settled_{0};
};

}  // namespace audex::ingest
