// The move of a store written before partitions: content and alerts from the catalog into the
// partitions of their sessions' months (see content_store::migrate).
#include "search/content_store.hpp"

#include "store/keys.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

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

void content_store::migrate(const std::function<std::optional<micros>(std::uint64_t)>& started) {
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
                auto start = started(id);
                if (!start || purged.contains(id)) continue;  // its content goes with the tables
                moved_session s{id, {}, {}};
                old.scan_session(txn, id, [&](std::uint32_t, const index::content_record& r) {
                    s.records.push_back(r);
                    return true;
                });
                old_alerts.page(txn, id, 0, SIZE_MAX,
                                [&](const ingest::alert& a) { s.alerts.push_back(a); });
                records += s.records.size();
                batch[store::partition_name(*start)].push_back(std::move(s));
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
