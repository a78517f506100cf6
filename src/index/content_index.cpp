// Content records, their postings and the content query executor with BM25 ranking.
#include "index/content_index.hpp"

#include "core/text.hpp"
#include "index/analyzer.hpp"
#include "store/bitmap.hpp"
#include "store/keys.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <roaring/roaring.hh>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace audex::index {

namespace json = boost::json;

namespace {

constexpr double bm25_k1 = 1.2, bm25_b = 0.75;
constexpr std::size_t max_expanded_terms = 4096;

std::string u32_key(std::uint32_t v) {
    std::string k;
    store::append_u32(k, v);
    return k;
}

// A term's postings are split in chunks of 65,536 record numbers, so that adding to a common
// term rewrites one bounded bitmap, not the whole list.
std::string posting_key(std::string_view term, std::uint32_t number) {
    std::string k(term);
    k.push_back('\0');
    k.push_back(char(number >> 24));
    k.push_back(char((number >> 16) & 0xff));
    return k;
}

std::string session_key(std::uint64_t session, std::uint32_t number) {
    auto k = store::u64_key(session);
    k += u32_key(number);
    return k;
}

using store::read_bitmap;
using store::write_bitmap;

std::uint64_t stat(const store::transaction& txn, store::table t, std::string_view key) {
    auto raw = txn.get(t, key);
    return raw ? store::read_u64(*raw) : 0;
}

json::object to_json(const content_record& r, std::size_t tokens) {
    return {{"s", r.session}, {"c", r.channel}, {"t", r.type},      {"x", r.text},
            {"b", r.start},   {"e", r.end},     {"r", r.record_id}, {"n", tokens}};
}

content_record from_json(const json::object& o) {
    content_record r;
    r.session = o.at("s").to_number<std::uint64_t>();
    r.channel = o.at("c").to_number<std::int64_t>();
    r.type = o.at("t").as_string();
    r.text = o.at("x").as_string();
    r.start = o.at("b").to_number<std::int64_t>();
    r.end = o.at("e").to_number<std::int64_t>();
    r.record_id = o.at("r").as_object();
    return r;
}

// Whether `words` holds `phrase` with at most `slop` extra positions between its first and last
// word (in order when slop is 0).
bool holds_phrase(const std::vector<std::string>& words, const std::vector<std::string>& phrase,
                  unsigned slop) {
    if (phrase.empty()) return false;
    if (slop == 0)
        return std::search(words.begin(), words.end(), phrase.begin(), phrase.end()) != words.end();
    // Smallest window that holds every phrase word (as often as it occurs in the phrase).
    std::map<std::string_view, int> need;
    for (auto& w : phrase)
        ++need[w];
    std::map<std::string_view, int> have;
    std::size_t missing = need.size(), left = 0, best = std::string::npos;
    for (std::size_t right = 0; right < words.size(); ++right) {
        auto it = need.find(words[right]);
        if (it == need.end()) continue;
        if (++have[it->first] == it->second) --missing;
        while (missing == 0) {
            best = std::min(best, right - left + 1);
            auto l = need.find(words[left]);
            if (l != need.end() && have[l->first]-- == l->second) ++missing;
            ++left;
        }
    }
    return best != std::string::npos && best - phrase.size() <= slop;
}

}  // namespace

// The state of one search: the session's records, statistics and the terms that score.
struct content_query {
    const content_index& index;
    const store::transaction& txn;
    Roaring universe;
    std::map<std::uint32_t, std::vector<std::string>> words;  // analyzed texts, by record
    struct scored_term {
        std::string term;
        double weight;  // boost x idf
    };
    std::vector<scored_term> scoring;
    double records = 0, avg_length = 1;

    // Reads the store-wide statistics that BM25 needs.
    void load_statistics() {
        records = double(stat(txn, index.stats_, "records"));
        if (records > 0)
            avg_length = std::max(1.0, double(stat(txn, index.stats_, "tokens")) / records);
    }

    const std::vector<std::string>& words_of(std::uint32_t n) {
        auto it = words.find(n);
        if (it != words.end()) return it->second;
        auto r = index.record(txn, n);
        return words.emplace(n, r ? analyze(r->text) : std::vector<std::string>()).first->second;
    }

    // The records of the universe that hold `term`; the term scores with its store-wide document
    // frequency, read from the same postings.
    Roaring scored_postings(const std::string& term, double boost) {
        Roaring all;
        auto c = txn.open_cursor(index.postings_);
        std::string prefix(term);
        prefix.push_back('\0');
        for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
            all |= read_bitmap(c.value());
        double df = double(all.cardinality());
        scoring.push_back({term, boost * std::log(1.0 + (records - df + 0.5) / (df + 0.5))});
        return all & universe;
    }

    // Records whose single terms, within the universe, satisfy `keep`.
    Roaring filter(const std::function<bool(const std::vector<std::string>&)>& keep) {
        Roaring out;
        for (auto n : universe)
            if (keep(words_of(n))) out.add(n);
        return out;
    }

    result<Roaring> phrase(const std::vector<std::string>& terms, unsigned slop, double boost) {
        Roaring candidates = universe;
        for (auto& t : terms) {
            candidates &= scored_postings(t, boost);
        }
        Roaring out;
        for (auto n : candidates)
            if (holds_phrase(words_of(n), terms, slop)) out.add(n);
        return out;
    }

    result<Roaring> text(const std::string& field, const std::string& text, unsigned slop,
                         double boost) {
        if (auto bad = check_field(field)) return *bad;
        auto terms = analyze(text);
        if (terms.empty()) return Roaring();
        if (terms.size() == 1) return scored_postings(terms[0], boost);
        return phrase(terms, slop, boost);
    }

    static std::optional<api_error> check_field(const std::string& field) {
        if (field.empty() || field == "text" || field == "content") return std::nullopt;
        return api_error{error_type::invalid_query_value,
                         "content has no field '" + field + "'; search its text",
                         {{"field", field}}};
    }

    result<Roaring> operator()(const query::term_query& q, double boost) {
        return text(q.field, q.text, 0, boost);
    }
    result<Roaring> operator()(const query::phrase_query& q, double boost) {
        return text(q.field, q.text, q.slop, boost);
    }
    result<Roaring> operator()(const query::wildcard_query& q, double) {
        if (auto bad = check_field(q.field)) return *bad;
        std::string pattern;
        for (char ch : q.pattern)
            pattern += char(std::tolower(static_cast<unsigned char>(ch)));
        auto literal = pattern.substr(0, pattern.find_first_of("*?\\"));
        Roaring out;
        std::size_t terms = 0;
        auto c = txn.open_cursor(index.postings_);
        for (bool ok = c.seek(literal); ok && c.key().starts_with(literal); ok = c.next()) {
            auto term = c.key().substr(0, c.key().find('\0'));
            if (!glob_match(pattern, term)) continue;
            if (++terms > max_expanded_terms * 16)
                return api_error{error_type::invalid_query_value,
                                 "'" + q.pattern + "' matches too many terms",
                                 {}};
            out |= read_bitmap(c.value()) & universe;
        }
        return out;
    }
    result<Roaring> operator()(const query::fuzzy_query& q, double boost) {
        if (auto bad = check_field(q.field)) return *bad;
        auto terms = analyze(q.text);
        if (terms.size() != 1) return text(q.field, q.text, 0, boost);
        auto target = terms[0];
        auto distance = q.distance;
        return filter([&](const std::vector<std::string>& words) {
            return std::any_of(words.begin(), words.end(),
                               [&](auto& w) { return edit_distance(w, target) <= distance; });
        });
    }
    result<Roaring> operator()(const query::range_query& q, double) {
        if (auto bad = check_field(q.field)) return *bad;
        auto bound = [](const std::optional<std::string>& b) -> std::optional<std::string> {
            if (!b) return std::nullopt;
            auto t = analyze(*b);
            return t.empty() ? std::string() : t[0];
        };
        auto lo = bound(q.lower), hi = bound(q.upper);
        return filter([&](const std::vector<std::string>& words) {
            return std::any_of(words.begin(), words.end(), [&](const std::string& w) {
                if (lo && (w < *lo || (w == *lo && !q.include_lower))) return false;
                if (hi && (w > *hi || (w == *hi && !q.include_upper))) return false;
                return true;
            });
        });
    }
    result<Roaring> operator()(const query::exists_query& q, double) {
        if (auto bad = check_field(q.field)) return *bad;
        return universe;
    }
    result<Roaring> operator()(const query::match_all_query&, double) { return universe; }
    result<Roaring> operator()(const query::boolean_query& q, double boost) {
        std::optional<Roaring> must;
        Roaring should, must_not;
        bool any_should = false;
        for (auto& c : q.clauses) {
            auto r = run(c.query, c.how == query::occur::must_not ? 0.0 : boost);
            if (!r) return r;
            if (c.how == query::occur::must) {
                must = must ? (*must & *r) : *r;
            } else if (c.how == query::occur::should) {
                should |= *r;
                any_should = true;
            } else {
                must_not |= *r;
            }
        }
        Roaring out = must ? *must : any_should ? should : universe;
        out -= must_not;
        return out;
    }

    result<Roaring> run(const query::node& n, double boost) {
        return std::visit([&](auto& q) { return (*this)(q, boost * n.boost); }, n.value);
    }

    // A record and its rank, or nullopt when it was purged; its analyzed text is not kept.
    std::optional<content_hit> ranked(std::uint32_t n) {
        auto r = index.record(txn, n);
        if (!r) return std::nullopt;
        words.try_emplace(n, analyze(r->text));
        content_hit hit{n, bm25(n), std::move(*r)};
        words.erase(n);
        return hit;
    }

    // The matching records that still exist, the `limit` best ranked first (ties by record
    // number).
    std::vector<content_hit> top(const Roaring& matches, std::size_t limit) {
        auto better = [](const content_hit& a, const content_hit& b) {
            return a.rank > b.rank || (a.rank == b.rank && a.number < b.number);
        };
        std::vector<content_hit> best;  // a heap, the worst on top
        for (auto n : matches) {
            // Without scoring terms (wildcards, ranges alone) every record ranks 0, so the first
            // `limit` records by number are the best: the rest need not be read.
            if (scoring.empty() && best.size() == limit) break;
            auto hit = ranked(n);
            if (!hit) continue;
            if (best.size() < limit) {
                best.push_back(std::move(*hit));
                std::push_heap(best.begin(), best.end(), better);
            } else if (limit > 0 && better(*hit, best.front())) {
                std::pop_heap(best.begin(), best.end(), better);
                best.back() = std::move(*hit);
                std::push_heap(best.begin(), best.end(), better);
            }
        }
        std::sort_heap(best.begin(), best.end(), better);
        return best;
    }

    double bm25(std::uint32_t n) {
        auto& w = words_of(n);
        double length = double(w.size()), rank = 0;
        for (auto& s : scoring) {
            double tf = double(std::count(w.begin(), w.end(), s.term));
            if (tf == 0) continue;
            rank += s.weight * tf * (bm25_k1 + 1) /
                    (tf + bm25_k1 * (1 - bm25_b + bm25_b * length / avg_length));
        }
        return rank;
    }
};

content_index::content_index(store::environment& env) {
    records_ = env.open_table("content.records");
    by_session_ = env.open_table("content.by_session");
    postings_ = env.open_table("content.postings");
    stats_ = env.open_table("content.stats");
    purges_ = env.open_table("content.purge_queue");
}

void content_index::mark_for_purge(store::transaction& txn, std::uint64_t session) {
    txn.put(purges_, store::u64_key(session), {});
}

std::vector<std::uint64_t> content_index::pending_purges(const store::transaction& txn) const {
    std::vector<std::uint64_t> out;
    auto c = txn.open_cursor(purges_);
    for (bool ok = c.first(); ok; ok = c.next())
        out.push_back(store::read_u64(c.key()));
    return out;
}

void content_index::add(store::transaction& txn, const std::vector<content_record>& records) {
    auto next = std::uint32_t(stat(txn, stats_, "next_record"));
    auto count = stat(txn, stats_, "records"), tokens = stat(txn, stats_, "tokens");
    std::map<std::string, std::vector<std::uint32_t>> pending;
    std::vector<std::string> words;
    for (auto& r : records) {
        auto number = next++;
        words.clear();
        analyze(r.text, words);
        txn.put(records_, u32_key(number), json::serialize(to_json(r, words.size())));
        txn.put(by_session_, session_key(r.session, number), {});
        std::sort(words.begin(), words.end());
        tokens += words.size();
        ++count;
        for (auto it = words.begin(); it != words.end();
             it = std::upper_bound(it, words.end(), *it))
            pending[posting_key(*it, number)].push_back(number);
    }
    for (auto& [key, numbers] : pending) {
        auto raw = txn.get(postings_, key);
        Roaring bitmap = raw ? read_bitmap(*raw) : Roaring();
        bitmap.addMany(numbers.size(), numbers.data());
        txn.put(postings_, key, write_bitmap(bitmap));
    }
    txn.put(stats_, "next_record", store::u64_key(next));
    txn.put(stats_, "records", store::u64_key(count));
    txn.put(stats_, "tokens", store::u64_key(tokens));
}

std::optional<content_record> content_index::record(const store::transaction& txn,
                                                    std::uint32_t number) const {
    auto raw = txn.get(records_, u32_key(number));
    if (!raw) return std::nullopt;
    return from_json(json::parse(*raw).as_object());
}

void content_index::scan_session(
    const store::transaction& txn, std::uint64_t session,
    const std::function<bool(std::uint32_t, const content_record&)>& visit) const {
    auto c = txn.open_cursor(by_session_);
    auto prefix = store::u64_key(session);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
        auto number = store::read_u32(c.key(), 8);
        if (auto r = record(txn, number))
            if (!visit(number, *r)) return;
    }
}

result<std::vector<content_hit>> content_index::search(const store::transaction& txn,
                                                       const query::node& q,
                                                       std::uint64_t session) const {
    content_query run{*this, txn, {}, {}, {}, 0, 1};
    auto c = txn.open_cursor(by_session_);
    auto prefix = store::u64_key(session);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
        run.universe.add(store::read_u32(c.key(), 8));
    run.load_statistics();
    auto matches = run.run(q, 1.0);
    if (!matches) return matches.error();
    return run.top(*matches, std::numeric_limits<std::size_t>::max());
}

result<std::vector<content_hit>> content_index::search_records(const store::transaction& txn,
                                                               const query::node& q,
                                                               std::size_t limit) const {
    content_query run{*this, txn, {}, {}, {}, 0, 1};
    // Every record number handed out; the numbers of purged records are skipped by top().
    run.universe.addRange(0, stat(txn, stats_, "next_record"));
    run.load_statistics();
    auto matches = run.run(q, 1.0);
    if (!matches) return matches.error();
    return run.top(*matches, limit);
}

result<std::vector<session_match>> content_index::search_sessions(const store::transaction& txn,
                                                                  const query::node& q) const {
    content_query run{*this, txn, {}, {}, {}, 0, 1};
    // Every record number handed out; the numbers of purged records match nothing below.
    run.universe.addRange(0, stat(txn, stats_, "next_record"));
    run.load_statistics();
    auto matches = run.run(q, 1.0);
    if (!matches) return matches.error();
    std::map<std::uint64_t, session_match> by_session;
    for (auto n : *matches) {
        auto hit = run.ranked(n);
        if (!hit) continue;
        auto session = hit->record.session;
        auto [it, added] = by_session.try_emplace(session, session_match{session, hit->rank, 0});
        it->second.rank = std::max(it->second.rank, hit->rank);
        ++it->second.hits;
    }
    std::vector<session_match> out;
    out.reserve(by_session.size());
    for (auto& [id, m] : by_session)
        out.push_back(m);
    std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.rank > b.rank; });
    return out;
}

void content_index::purge_session(store::transaction& txn, std::uint64_t session) {
    std::vector<std::uint32_t> numbers;
    std::map<std::string, std::vector<std::uint32_t>> postings;
    auto count = stat(txn, stats_, "records"), tokens = stat(txn, stats_, "tokens");
    scan_session(txn, session, [&](std::uint32_t n, const content_record& r) {
        numbers.push_back(n);
        auto words = analyze(r.text);
        tokens -= std::min<std::uint64_t>(tokens, words.size());
        std::set<std::string> distinct(words.begin(), words.end());
        for (auto& w : distinct)
            postings[posting_key(w, n)].push_back(n);
        return true;
    });
    for (auto& [key, gone] : postings) {
        auto raw = txn.get(postings_, key);
        if (!raw) continue;
        Roaring bitmap = read_bitmap(*raw);
        for (auto n : gone)
            bitmap.remove(n);
        if (bitmap.isEmpty())
            txn.erase(postings_, key);
        else
            txn.put(postings_, key, write_bitmap(bitmap));
    }
    for (auto n : numbers) {
        txn.erase(records_, u32_key(n));
        txn.erase(by_session_, session_key(session, n));
    }
    txn.erase(purges_, store::u64_key(session));
    count -= std::min<std::uint64_t>(count, numbers.size());
    txn.put(stats_, "records", store::u64_key(count));
    txn.put(stats_, "tokens", store::u64_key(tokens));
}

}  // namespace audex::index
