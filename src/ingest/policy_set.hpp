// The matcher of the stored content policies, replaced whole when they change: ingestion reads the
// current one without waiting, and keeps using it while a new one is compiled.
#pragma once

#include "ingest/policy_matcher.hpp"
#include "store/object_store.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace audex::ingest {

class policy_set {
  public:
    // Builds the matcher from the stored policies.
    explicit policy_set(store::object_store& objects);

    // The alerts of the records under the current policies.
    std::vector<alert> match(const std::vector<index::content_record>& records) const {
        return current_.load()->match(records);
    }
    std::shared_ptr<const policy_matcher> current() const { return current_.load(); }

    // Rebuilds the matcher when a committed write changed the policies since it was built; a
    // no-op (one read) otherwise. Call it after every write that may touch a policy.
    void refresh();

    // In the transaction that stores `policy` (a content_policy object): its rules must compile.
    // Throws api_exception with InvalidArgument naming the rule and the pattern.
    static void check(const boost::json::object& policy);
    // In the transaction that creates, changes or deletes a policy: tells refresh() to rebuild.
    static void changed(store::transaction& txn, store::object_store& objects);

  private:
    void rebuild(bool force);

    store::object_store& objects_;
    std::atomic<std::shared_ptr<const policy_matcher>> current_;
    std::mutex rebuilding_;  // one rebuild at a time, so the last one sees the last commit
};

}  // namespace audex::ingest
