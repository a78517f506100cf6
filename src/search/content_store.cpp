// Session content across partitions (see content_store.hpp).
#include "search/content_store.hpp"

#include "search/merge.hpp"
#include "store/keys.hpp"

#include <algorithm>
#include <limits>

namespace audex::search {

namespace {

micros started_at(const boost::json::object& session) {
    return session.at("started_at").to_number<micros>();
}

}  // namespace

content_store::content_store(store::environment& catalog, const std::filesystem::path& root,
                             store::environment_options options)
    : catalog_(catalog),
      partitions_(root, options),
      purges_(catalog.open_table("content.purge_queue")) {}

content_store::handle content_store::of(const boost::json::object& session) const {
    return partitions_.find(store::partition_name(started_at(session)));
}

content_store::handle content_store::for_writing(const boost::json::object& session) {
    return partitions_.open(store::partition_name(started_at(session)));
}

std::vector<partition_info> content_store::describe(
    const std::function<std::uint64_t(micros, micros)>& started) const {
    std::vector<partition_info> out;
    for (auto& p : partitions_.all()) {
        auto [from, to] = *store::partition_span(p->name);
        out.push_back({p->name, started(from, to), p->contents.content.records(p->env.read()),
                       std::filesystem::file_size(p->env.directory() / "data.mdb")});
    }
    return out;
}

std::vector<content_store::reading> content_store::read_all() const {
    std::vector<reading> out;
    for (auto& p : partitions_.all())
        out.push_back({p, p->env.read()});
    return out;
}

index::corpus_stats content_store::statistics(const std::vector<reading>& all,
                                              const query::node& q) {
    index::corpus_stats out;
    for (auto& r : all)
        out += r.partition->contents.content.statistics(r.txn, q);
    return out;
}

result<std::vector<index::session_match>> content_store::search_sessions(
    const query::node& q, const std::vector<std::uint64_t>* among, bool count_hits,
    std::optional<micros> until, std::size_t limit,
    const std::function<bool(const index::session_match&)>& accept) const {
    if (auto ok = index::content_index::check(q); !ok) return ok.error();
    auto all = read_all();
    auto corpus = statistics(all, q);
    top_sessions best(limit);
    // Newest first: recent sessions are the likelier answers, and the sooner the best are known,
    // the sooner the other partitions stop.
    for (auto r = all.rbegin(); r != all.rend(); ++r) {
        auto& p = *r->partition;
        if (until && store::partition_span(p.name)->first > *until) continue;
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

result<std::vector<index::content_hit>> content_store::search_records(const query::node& q,
                                                                      std::size_t limit) const {
    if (auto ok = index::content_index::check(q); !ok) return ok.error();
    auto all = read_all();
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

result<std::vector<index::content_hit>> content_store::search(const boost::json::object& session,
                                                              std::uint64_t id,
                                                              const query::node& q,
                                                              std::size_t limit) const {
    if (auto ok = index::content_index::check(q); !ok) return ok.error();
    auto all = read_all();
    auto name = store::partition_name(started_at(session));
    auto mine =
        std::find_if(all.begin(), all.end(), [&](auto& r) { return r.partition->name == name; });
    if (mine == all.end()) return std::vector<index::content_hit>{};
    auto corpus = statistics(all, q);
    return mine->partition->contents.content.search(mine->txn, q, id, limit, &corpus);
}

void content_store::mark_for_purge(store::transaction& catalog, std::uint64_t session) {
    catalog.put(purges_, store::u64_key(session), {});
}

std::vector<std::uint64_t> content_store::pending_purges(const store::transaction& catalog) const {
    return store::key_prefixes(catalog.open_cursor(purges_));
}

bool content_store::purge_step(const boost::json::object& session, std::uint64_t id) {
    auto p = of(session);
    bool done = !p || p->env.write([&](store::transaction& txn) {
        return p->contents.alerts.purge_session(txn, id) &&
               p->contents.content.purge_session(txn, id);
    });
    if (done)
        catalog_.write([&](store::transaction& txn) { txn.erase(purges_, store::u64_key(id)); });
    return done;
}

void content_store::merge_all(const std::function<bool()>& stop) {
    for (auto& p : partitions_.all())
        p->contents.content.merge_all(p->env, stop);
}

}  // namespace audex::search
