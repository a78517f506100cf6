// The move of a store written before partitions: sessions, then their content and alerts, from the
// catalog into the partitions of their months (see partitioned_store::migrate).
#include "search/partitioned_store.hpp"

#include "store/keys.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace audex::search {

namespace {

// The catalog's tables of content and alerts before partitions; dropped once moved.
const char* const single_store_tables[] = {
    "content.records",  "content.by_session", "content.blocks",
    "content.segments", "content.live",       "content.sessions",
    "content.stats",    "content.postings",   "content.terms",
    "alerts",           "content.migrated",
};

// A batch holds the sessions whose records reach this many (or the last ones).
constexpr std::size_t batch_records = 65536;

struct moved_session {
    std::uint64_t id;
    std::vector<index::content_record> records;
    std::vector<ingest::alert> alerts;
};

}  // namespace

void partitioned_store::migrate() {
    migrate_sessions();
    migrate_content();
}

void partitioned_store::migrate_sessions() {
    if (!catalog_.has_table("objects.session")) return;
    const model& m = *find_model("session");
    std::vector<std::string> tables = {"objects.session",  "by_time.session.started_at",
                                       "session_backup",   "session.numbers",
                                       "session.postings", "session.live",
                                       "session.columns",  "session.times",
                                       "session.counts",   "session.migrated"};
    for (auto& a : m.attributes) {
        if (a.unique) tables.push_back("unique.session." + a.name);
        if (!a.references.empty()) tables.push_back("by_ref.session." + a.name);
    }
    std::uint64_t from = 0, moved = 0;
    {
        const store::object_store old(catalog_, store::object_role::sessions);
        const auto progress = catalog_.open_table("session.migrated");
        const auto assignments = catalog_.open_table("session_backup");
        {
            auto txn = catalog_.read();
            if (auto through = txn.get(progress, "through")) from = store::read_u64(*through) + 1;
        }
        // In batches, each one write transaction of the catalog with its partitions' companions,
        // so that the progress commits after what it counts; a batch cut by a stop is done again,
        // and the sessions it had moved are found in place.
        constexpr std::size_t batch = 20000;
        for (bool more = true; more;) {
            // The write runs again when a map must grow: it starts from the same session.
            auto [after, count, left] = catalog_.write([&](store::transaction& txn) {
                std::uint64_t next = from;
                std::size_t done = 0;
                bool rest = false;
                old.scan(txn, m, from, [&](std::uint64_t id, const store::stored_object& o) {
                    if (done == batch) return rest = true, false;
                    auto session = o.parse();
                    auto at = for_new(txn, session.at("started_at").to_number<micros>());
                    if (!at.sessions().find(at.txn, m, id)) {
                        at.sessions().restore(at.txn, m, id, session);
                        auto prefix = store::u64_key(id);
                        auto c = txn.open_cursor(assignments);
                        for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix);
                             ok = c.next())
                            at.sessions().assign_backup(at.txn, id, store::read_u64(c.key(), 8),
                                                        micros(store::read_u64(c.value())));
                    }
                    // Its id names a month: no session of that month may be given it again.
                    auto named = store::session_partition(id);
                    if (named != at.partition->name) {
                        txn.put(moved_, store::u64_key(id), at.partition->name);
                        auto owner = partitions_.open(named);
                        owner->contents.sessions.reserve_id(txn.with(owner->env, owner), id);
                    } else {
                        at.sessions().reserve_id(at.txn, id);
                    }
                    ++done;
                    next = id + 1;
                    txn.put(progress, "through", store::u64_key(id));
                    return true;
                });
                return std::tuple{next, done, rest};
            });
            from = after;
            moved += count;
            more = left;
        }
    }
    any_moved_ = catalog_.read().entries(moved_) > 0;
    std::vector<store::table> handles;
    for (auto& name : tables)
        handles.push_back(catalog_.open_table(name));
    const auto meta = catalog_.open_table("meta");
    catalog_.write([&](store::transaction& txn) {
        for (auto t : handles)
            txn.drop(t);
        for (auto* key : {"next_session_number", "last_numbered_session",
                          "session_numbers_unordered", "field_index_version"})
            txn.erase(meta, key);
    });
    spdlog::info("{} sessions moved into monthly partitions", moved);
}

void partitioned_store::migrate_content() {
    if (!catalog_.has_table("content.records")) return;
    const index::content_index old(catalog_);
    const ingest::alert_store old_alerts(catalog_);
    // How far a migration that stopped got: the last session whose content is in its partition.
    const auto progress = catalog_.open_table("content.migrated");
    std::vector<std::uint64_t> sessions;
    std::set<std::uint64_t> purged;
    {
        auto txn = catalog_.read();
        sessions = old.sessions(txn);
        auto with_alerts = old_alerts.sessions(txn);
        sessions.insert(sessions.end(), with_alerts.begin(), with_alerts.end());
        std::sort(sessions.begin(), sessions.end());
        sessions.erase(std::unique(sessions.begin(), sessions.end()), sessions.end());
        if (auto through = txn.get(progress, "through"))
            std::erase_if(sessions, [&](auto id) { return id <= store::read_u64(*through); });
        auto pending = pending_purges(txn);
        purged.insert(pending.begin(), pending.end());
    }
    spdlog::info("moving the content of {} sessions into monthly partitions", sessions.size());
    for (std::size_t at = 0; at < sessions.size();) {
        std::map<std::string, std::vector<moved_session>> batch;  // by partition
        std::size_t records = 0;
        {
            auto txn = catalog_.read();
            for (; at < sessions.size() && records < batch_records; ++at) {
                auto id = sessions[at];
                auto session = get(txn, id);
                if (!session || purged.contains(id)) continue;  // its content goes with the tables
                auto start = session->at("started_at").to_number<micros>();
                moved_session s{id, {}, {}};
                old.scan_session(txn, id, [&](std::uint32_t, const index::content_record& r) {
                    s.records.push_back(r);
                    return true;
                });
                old_alerts.page(txn, id, 0, SIZE_MAX,
                                [&](const ingest::alert& a) { s.alerts.push_back(a); });
                records += s.records.size();
                batch[store::partition_name(start)].push_back(std::move(s));
            }
        }
        for (auto& [name, moved] : batch) {
            auto p = partitions_.open(name);
            p->env.write([&](store::transaction& txn) {
                for (auto& s : moved) {
                    // What a migration stopped after this batch's commit left is replaced.
                    p->contents.alerts.purge_session(txn, s.id, SIZE_MAX);
                    p->contents.content.purge_session(txn, s.id, SIZE_MAX);
                    p->contents.content.add(txn, s.records);
                    p->contents.alerts.add(txn, s.alerts);
                }
            });
        }
        catalog_.write([&](store::transaction& txn) {
            txn.put(progress, "through", store::u64_key(sessions[at - 1]));
        });
    }
    std::vector<store::table> tables;
    for (auto* name : single_store_tables)
        tables.push_back(catalog_.open_table(name));
    catalog_.write([&](store::transaction& txn) {
        for (auto t : tables)
            txn.drop(t);
    });
    spdlog::info("content moved into partitions");
}

}  // namespace audex::search
