// The sessions, their content and its index and their alerts, each kept in the partition of the
// month (UTC) in which the session started (store/partition_set.hpp); where a session is, and the
// content searches across partitions: ranked with the figures of every partition summed, each
// partition's best merged (search/merge.hpp).
#pragma once

#include "index/content_index.hpp"
#include "ingest/alert_store.hpp"
#include "store/object_store.hpp"
#include "store/partition_set.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace audex::search {

// What a partition holds: the sessions that started in its month, with their field indexes,
// their content and its index, their alerts.
struct partition_contents {
    explicit partition_contents(store::environment& env)
        : sessions(env, store::object_role::sessions), content(env), alerts(env) {}
    store::object_store sessions;
    index::content_index content;
    ingest::alert_store alerts;

    // When the partition was sealed, or nullopt while it is open (partitioned_store::seal).
    std::optional<micros> sealed(const store::transaction& txn) const;
};

// What a partition holds, for GET /api/system/storage and `audex storage`.
struct partition_info {
    std::string name;        // its month
    std::uint64_t sessions;  // live sessions
    std::uint64_t records;   // content records
    std::uint64_t bytes;     // of its LMDB file
    micros written;          // when its LMDB file was last written
    std::optional<micros> sealed;
};

class partitioned_store {
  public:
    using partitions = store::partition_set<partition_contents>;
    using handle = partitions::handle;

    // The partitions are under `root`. The catalog lists them and queues the purges of removed
    // sessions' content.
    partitioned_store(store::environment& catalog, const std::filesystem::path& root,
                      store::environment_options options = {});

    partitions& all() { return partitions_; }
    const partitions& all() const { return partitions_; }

    // A session where it is: its partition and the companion of `txn` (a transaction of the
    // catalog) there.
    struct located {
        handle partition;
        store::transaction& txn;
        store::object_store& sessions() const { return partition->contents.sessions; }
    };
    // The partition of session `id` (the month its id names, or where a migration moved it) and
    // the companion there, nullopt when there is no such partition. Whether the session is there
    // is for the caller's read of it to find, so that it is looked up once.
    std::optional<located> locate(const store::transaction& txn, std::uint64_t id) const;
    // The stored session `id`, removed or not.
    std::optional<boost::json::object> get(const store::transaction& txn, std::uint64_t id) const;
    // Where a new session that starts at `started` goes (its partition made if need be).
    located for_new(const store::transaction& txn, micros started);
    // Every partition and the companion of `txn` there, by month.
    std::vector<located> every(const store::transaction& txn) const;

    // Visits the sessions (removed ones too) in id order from `from` on, while `visit` returns
    // true.
    void scan(const store::transaction& txn, std::uint64_t from,
              const std::function<bool(std::uint64_t, const store::stored_object&)>& visit) const;
    // Whether each partition's sessions come before the next partition's in id order: not once a
    // store written before partitions moved sessions whose ids name another month.
    bool ids_follow_partitions() const { return !any_moved_; }

    // Every partition, by month.
    std::vector<partition_info> describe() const;

    // Seals partition `name` at `now`: its sessions, their content and alerts are final from then
    // on (a legal hold and backup assignments aside), so that it is copied, kept or moved as it
    // is. NotFound for no such partition; Conflict while its month has not ended, while one of
    // its sessions is active or finished less than `grace` ago (it still takes content), or while
    // the content of a removed one is being purged. Sealing a sealed partition changes nothing.
    result<void> seal(std::string_view name, micros now, micros grace);
    // Opens a sealed partition again; NotFound for no such partition.
    result<void> unseal(std::string_view name);

    // The best `limit` sessions that `accept` takes among those whose records match `q`
    // (content_index::search_sessions), in the partitions for which `searched` holds (those that
    // can hold a session `accept` takes), in the order of merge.hpp's better(). `accept` sees only
    // the sessions that can still enter. `txn` is a read transaction of the catalog: the
    // partitions are read through its companions, so that a query's figures (every partition's)
    // and its search (and whatever the caller reads beside them) rest on one snapshot of each.
    result<std::vector<index::session_match>> search_sessions(
        const store::transaction& txn, const query::node& q,
        const std::vector<std::uint64_t>* among, bool count_hits,
        const std::function<bool(const std::string& partition)>& searched, std::size_t limit,
        const std::function<bool(const index::session_match&)>& accept) const;

    // The records matching `q` across every partition, the `limit` best ranked first; equal
    // ranks in the order of the partitions' months, then of the records' numbers.
    result<std::vector<index::content_hit>> search_records(const store::transaction& txn,
                                                           const query::node& q,
                                                           std::size_t limit) const;

    // The records of session `id` that match `q`, the `limit` best ranked first.
    result<std::vector<index::content_hit>> search(const store::transaction& txn, std::uint64_t id,
                                                   const query::node& q, std::size_t limit) const;

    // The purge queue: sessions removed in `catalog` whose content is to go.
    void mark_for_purge(store::transaction& catalog, std::uint64_t session);
    std::vector<std::uint64_t> pending_purges(const store::transaction& catalog) const;
    // Removes a bounded part of the content and alerts of session `id`; returns whether none is
    // left, and then takes it off the queue.
    bool purge_step(std::uint64_t id);

    // Merges the segments of every partition until none is due or `stop` returns true.
    void merge_all(const std::function<bool()>& stop);

    // Moves what a store written before partitions holds in its catalog into the partitions, in
    // bounded steps that a restart resumes: the sessions (with their ids), then their content and
    // alerts.
    void migrate();

  private:
    // The figures of every partition for the terms of `q`.
    static index::corpus_stats statistics(const std::vector<located>& all, const query::node& q);
    void migrate_sessions();
    void migrate_content();

    store::environment& catalog_;
    partitions partitions_;
    store::table purges_;
    // Sessions of a store written before partitions whose ids name another month than the one
    // they started in: id -> partition name. Read only when the migration wrote some.
    store::table moved_;
    bool any_moved_ = false;
};

}  // namespace audex::search
