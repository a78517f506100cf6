// Session content, its index and its alerts, kept in the partition of the month (UTC) in which the
// session started (store/partition_set.hpp), and the content searches across partitions: ranked
// with the figures of every partition summed, each partition's best merged (search/merge.hpp).
#pragma once

#include "index/content_index.hpp"
#include "ingest/alert_store.hpp"
#include "store/partition_set.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

namespace audex::search {

// What a partition holds of its sessions' content.
struct content_partition {
    explicit content_partition(store::environment& env) : content(env), alerts(env) {}
    index::content_index content;
    ingest::alert_store alerts;
};

// What a partition holds, for GET /api/system/storage and `audex storage`.
struct partition_info {
    std::string name;        // its month
    std::uint64_t sessions;  // that started in its month
    std::uint64_t records;   // content records
    std::uint64_t bytes;     // of its LMDB file
};

class content_store {
  public:
    using partitions = store::partition_set<content_partition>;
    using handle = partitions::handle;

    // The partitions are under `root`. The catalog lists them and queues the purges of removed
    // sessions' content.
    content_store(store::environment& catalog, const std::filesystem::path& root,
                  store::environment_options options = {});

    partitions& all() { return partitions_; }
    const partitions& all() const { return partitions_; }

    // The partition of a session's content (`session` in its stored form, with its start), null
    // while none holds any.
    handle of(const boost::json::object& session) const;
    // The partition of a session's content, made if need be.
    handle for_writing(const boost::json::object& session);

    // Every partition, by month; `started` counts the sessions that started in [from, to).
    std::vector<partition_info> describe(
        const std::function<std::uint64_t(micros from, micros to)>& started) const;

    // The best `limit` sessions that `accept` takes among those whose records match `q`
    // (content_index::search_sessions), in the partitions of sessions that started before `until`
    // (every partition without it), in the order of merge.hpp's better(). `accept` sees only the
    // sessions that can still enter.
    result<std::vector<index::session_match>> search_sessions(
        const query::node& q, const std::vector<std::uint64_t>* among, bool count_hits,
        std::optional<micros> until, std::size_t limit,
        const std::function<bool(const index::session_match&)>& accept) const;

    // The records matching `q` across every partition, the `limit` best ranked first; equal
    // ranks in the order of the partitions' months, then of the records' numbers.
    result<std::vector<index::content_hit>> search_records(const query::node& q,
                                                           std::size_t limit) const;

    // The records of session `id` (stored form `session`) that match `q`, the `limit` best
    // ranked first.
    result<std::vector<index::content_hit>> search(const boost::json::object& session,
                                                   std::uint64_t id, const query::node& q,
                                                   std::size_t limit) const;

    // The purge queue: sessions removed in `catalog` whose content is to go.
    void mark_for_purge(store::transaction& catalog, std::uint64_t session);
    std::vector<std::uint64_t> pending_purges(const store::transaction& catalog) const;
    // Removes a bounded part of the content and alerts of session `id` (stored form `session`);
    // returns whether none is left, and then takes it off the queue.
    bool purge_step(const boost::json::object& session, std::uint64_t id);

    // Merges the segments of every partition until none is due or `stop` returns true.
    void merge_all(const std::function<bool()>& stop);

    // Moves the content and alerts that a store written before partitions holds in its catalog
    // into the partitions, in bounded steps that a restart resumes; `started` gives a session's
    // start (nullopt for a session that no longer exists: its content is dropped).
    void migrate(const std::function<std::optional<micros>(std::uint64_t)>& started);

  private:
    // Every partition with a read transaction: one snapshot serves a query's figures and its
    // search, so that the ranks rest on the figures of what the search reads.
    struct reading {
        handle partition;
        store::transaction txn;
    };
    std::vector<reading> read_all() const;
    // The figures of every partition for the terms of `q`.
    static index::corpus_stats statistics(const std::vector<reading>& all, const query::node& q);

    store::environment& catalog_;
    partitions partitions_;
    store::table purges_;
};

}  // namespace audex::search
