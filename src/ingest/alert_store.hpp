// The alerts of the content policies, stored in the transaction of the content that raised them
// and listed per session by record id (docs/storage.md, table `alerts`).
#pragma once

#include "ingest/policy_matcher.hpp"
#include "store/lmdb.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace audex::ingest {

class alert_store {
  public:
    explicit alert_store(store::environment& env);

    void add(store::transaction& txn, const std::vector<alert>& alerts);

    // The sessions that have alerts, ascending.
    std::vector<std::uint64_t> sessions(const store::transaction& txn) const;

    // Visits the alerts of `session` from the `offset`-th, at most `limit` of them, by record id
    // and then in the order they were raised; returns how many the session has.
    std::size_t page(const store::transaction& txn, std::uint64_t session, std::size_t offset,
                     std::size_t limit, const std::function<void(const alert&)>& visit) const;

    // Removes the alerts of `session`, at most `max_alerts` of them, so that a session with many
    // goes in several bounded transactions; returns whether none is left.
    bool purge_session(store::transaction& txn, std::uint64_t session,
                       std::size_t max_alerts = 16384);

  private:
    store::table alerts_;
};

}  // namespace audex::ingest
