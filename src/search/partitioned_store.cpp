// Sessions, content and alerts across partitions (see partitioned_store.hpp).
#include "search/partitioned_store.hpp"

#include "search/merge.hpp"
#include "store/keys.hpp"

#include <algorithm>
#include <limits>

namespace audex::search {

std::optional<micros> partition_contents::sealed(const store::transaction& txn) const {
    auto at = sessions.meta(txn, "sealed");
    if (!at) return std::nullopt;
    return micros(store::read_u64(*at));
}

partitioned_store::partitioned_store(store::environment& catalog, const std::filesystem::path& root,
                                     store::environment_options options)
    : catalog_(catalog),
      partitions_(root, options),
      purges_(catalog.open_table("content.purge_queue")),
      moved_(catalog.open_table("session.moved")) {
    any_moved_ = catalog.read().entries(moved_) > 0;
}

std::optional<partitioned_store::located> partitioned_store::locate(const store::transaction& txn,
                                                                    std::uint64_t id) const {
    auto name = store::session_partition(id);
    if (any_moved_)
        if (auto moved = txn.get(moved_, store::u64_key(id))) name = *moved;
    auto p = partitions_.find(name);
    if (!p) return std::nullopt;
    auto& in = txn.with(p->env, p);
    return located{std::move(p), in};
}

std::optional<boost::json::object> partitioned_store::get(const store::transaction& txn,
                                                          std::uint64_t id) const {
    auto at = locate(txn, id);
    if (!at) return std::nullopt;
    return at->sessions().get(at->txn, *find_model("session"), id);
}

partitioned_store::located partitioned_store::for_new(const store::transaction& txn,
                                                      micros started) {
    auto p = partitions_.open(store::partition_name(started));
    auto& in = txn.with(p->env, p);
    return {std::move(p), in};
}

std::vector<partitioned_store::located> partitioned_store::every(
    const store::transaction& txn) const {
    std::vector<located> out;
    for (auto& p : partitions_.all()) {
        auto& in = txn.with(p->env, p);
        out.push_back({std::move(p), in});
    }
    return out;
}

void partitioned_store::scan(
    const store::transaction& txn, std::uint64_t from,
    const std::function<bool(std::uint64_t, const store::stored_object&)>& visit) const {
    const model& m = *find_model("session");
    // Merged by id: partitions hold ids of their own month, but for sessions a migration moved.
    std::vector<store::object_cursor> cursors;
    for (auto& at : every(txn))
        cursors.push_back(at.sessions().objects(at.txn, m, from));
    for (;;) {
        store::object_cursor* first = nullptr;
        for (auto& c : cursors)
            if (c.valid() && (!first || c.id() < first->id())) first = &c;
        if (!first || !visit(first->id(), first->object())) return;
        first->next();
    }
}

std::vector<partition_info> partitioned_store::describe() const {
    std::vector<partition_info> out;
    for (auto& p : partitions_.all()) {
        auto txn = p->env.read();
        auto file = p->env.directory() / "data.mdb";
        auto written = std::chrono::file_clock::to_sys(std::filesystem::last_write_time(file));
        out.push_back(
            {p->name, p->contents.sessions.fields().live(txn).cardinality(),
             p->contents.content.records(txn), std::filesystem::file_size(file),
             std::chrono::duration_cast<std::chrono::microseconds>(written.time_since_epoch())
                 .count(),
             p->contents.sealed(txn)});
    }
    return out;
}

result<void> partitioned_store::seal(std::string_view name, micros now, micros grace) {
    auto p = partitions_.find(name);
    if (!p) return api_error::not_found("no partition " + std::string(name));
    auto conflict = [&](std::string why) -> result<void> {
        return api_error::conflict("partition " + std::string(name) + " cannot be sealed: " + why);
    };
    if (now < store::partition_span(name)->second) return conflict("its month has not ended");
    std::vector<std::uint64_t> purging;
    {
        auto txn = catalog_.read();
        purging = pending_purges(txn);
    }
    // In a write transaction of the partition, so that no session of it changes meanwhile; the
    // catalog and the other partitions go on.
    return p->env.write([&](store::transaction& txn) -> result<void> {
        auto& sessions = p->contents.sessions;
        if (p->contents.sealed(txn)) return {};
        const model& m = *find_model("session");
        for (auto id : purging)
            if (sessions.find(txn, m, id))
                return conflict("the content of removed session " + std::to_string(id) +
                                " is being purged");
        std::optional<std::string> open;
        auto& fields = sessions.fields();
        fields.scan_spans(txn, fields.live(txn), [&](std::uint32_t, const store::session_span& x) {
            auto s = sessions.get(txn, m, x.id);
            const boost::json::value* seen = nullptr;
            if (s)
                if (auto it = s->find("_finished_seen"); it != s->end()) seen = &it->value();
            if (x.finished == store::session_span::open_end || !seen)
                open = "session " + std::to_string(x.id) + " is active";
            else if (now - seen->to_number<micros>() <= grace)
                open = "session " + std::to_string(x.id) + " still takes content";
            return !open;
        });
        if (open) return conflict(*open);
        sessions.set_meta(txn, "sealed", store::u64_key(std::uint64_t(now)));
        return {};
    });
}

result<void> partitioned_store::unseal(std::string_view name) {
    auto p = partitions_.find(name);
    if (!p) return api_error::not_found("no partition " + std::string(name));
    p->env.write([&](store::transaction& txn) { p->contents.sessions.erase_meta(txn, "sealed"); });
    return {};
}

index::corpus_stats partitioned_store::statistics(const std::vector<located>& all,
                                                  const query::node& q) {
    index::corpus_stats out;
    for (auto& r : all)
        out += r.partition->contents.content.statistics(r.txn, q);
    return out;
}

result<std::vector<index::session_match>> partitioned_store::search_sessions(
    const store::transaction& txn, const query::node& q, const std::vector<std::uint64_t>* among,
    bool count_hits, const std::function<bool(const std::string&)>& searched, std::size_t limit,
    const std::function<bool(const index::session_match&)>& accept) const {
    if (auto ok = index::content_index::check(q); !ok) return ok.error();
    auto all = every(txn);
    auto corpus = statistics(all, q);
    top_sessions best(limit);
    // Newest first: recent sessions are the likelier answers, and the sooner the best are known,
    // the sooner the other partitions stop.
    for (auto r = all.rbegin(); r != all.rend(); ++r) {
        auto& p = *r->partition;
        if (!searched(p.name)) continue;
        auto searched = p.contents.content.search_sessions(
            r->txn, q, among, count_hits,
            [&](const index::session_match& m) {
                if (!best.wants(m)) return false;
                if (accept(m)) best.add(m);
                return true;
            },
            &corpus);
        if (!searched) return searched.error();
    }
    return std::move(best).take();
}

result<std::vector<index::content_hit>> partitioned_store::search_records(
    const store::transaction& txn, const query::node& q, std::size_t limit) const {
    if (auto ok = index::content_index::check(q); !ok) return ok.error();
    auto all = every(txn);
    auto corpus = statistics(all, q);
    // Each partition's only above the best of those before it, which they win ties against.
    std::vector<index::content_hit> best;
    for (auto& r : all) {
        auto above =
            best.size() == limit ? best.back().rank : -std::numeric_limits<double>::infinity();
        auto hits = r.partition->contents.content.search_records(r.txn, q, limit, &corpus, above);
        if (!hits) return hits.error();
        best = merge_records({std::move(best), std::move(*hits)}, limit);
    }
    return best;
}

result<std::vector<index::content_hit>> partitioned_store::search(const store::transaction& txn,
                                                                  std::uint64_t id,
                                                                  const query::node& q,
                                                                  std::size_t limit) const {
    if (auto ok = index::content_index::check(q); !ok) return ok.error();
    auto mine = locate(txn, id);
    if (!mine) return std::vector<index::content_hit>{};
    auto corpus = statistics(every(txn), q);
    return mine->partition->contents.content.search(mine->txn, q, id, limit, &corpus);
}

void partitioned_store::mark_for_purge(store::transaction& catalog, std::uint64_t session) {
    catalog.put(purges_, store::u64_key(session), {});
}

std::vector<std::uint64_t> partitioned_store::pending_purges(
    const store::transaction& catalog) const {
    return store::key_prefixes(catalog.open_cursor(purges_));
}

bool partitioned_store::purge_step(std::uint64_t id) {
    handle p;
    {
        auto txn = catalog_.read();
        if (auto at = locate(txn, id)) p = at->partition;
    }
    bool done = !p || p->env.write([&](store::transaction& txn) {
        return p->contents.alerts.purge_session(txn, id) &&
               p->contents.content.purge_session(txn, id);
    });
    if (done)
        catalog_.write([&](store::transaction& txn) { txn.erase(purges_, store::u64_key(id)); });
    return done;
}

void partitioned_store::merge_all(const std::function<bool()>& stop) {
    for (auto& p : partitions_.all())
        p->contents.content.merge_all(p->env, stop);
}

}  // namespace audex::search
