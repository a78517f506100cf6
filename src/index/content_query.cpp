// The content query executor: a query's candidate records from the segments' postings, phrases
// verified on the texts, and BM25 ranking from the postings' term frequencies and record lengths.
#include "index/content_format.hpp"

#include "core/deadline.hpp"
#include "core/text.hpp"
#include "index/analyzer.hpp"
#include "store/object_filter.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <memory_resource>
#include <numeric>
#include <set>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace audex::index {

using namespace stored;

namespace {

constexpr double bm25_k1 = 1.2, bm25_b = 0.75;
constexpr std::size_t max_expanded_terms = 65536;
// A term that holds more than this many times the records it is to be checked for is searched
// for them in its stored postings instead of having its set built.
constexpr std::uint64_t searched_ratio = 16;

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

// A term's postings across the store: one part per segment that holds it, in ascending record
// order, its frequencies and lengths read in place (valid for the transaction).
class term_postings {
  public:
    struct part {
        std::uint32_t first, end;  // the segment's records
        postings_view postings;
    };

    void add(const segment& s, std::string_view raw) {
        // Braces: clang 14 (the fuzzing build) has no parenthesised aggregate initialisation.
        parts_.push_back({s.first, s.end, postings_view(raw)});
        count_ += parts_.back().postings.count;
    }
    // The records that hold the term.
    std::uint64_t count() const { return count_; }
    // Those records as a set, built at first use.
    const Roaring& set() {
        if (!set_) {
            set_.emplace();
            for (auto& part : parts_)
                *set_ |= part.postings.numbers();
        }
        return *set_;
    }
    // The records of `records` that hold the term: from its set (built if need be), or, when the
    // set is not built and the term holds many times more records, found in the stored postings
    // without reading them whole.
    Roaring among(const Roaring& records) {
        if (set_ || records.cardinality() * searched_ratio >= count_) return records & set();
        std::vector<std::uint32_t> numbers(records.cardinality()), held;
        records.toUint32Array(numbers.data());
        for (auto& part : parts_)
            store::find_held(part.postings.bitmap, in(numbers, part), held);
        return Roaring(held.size(), held.data());
    }
    // Calls found(j, postings, i) for each of `numbers` (ascending) that holds the term, where
    // numbers[j] is the i-th record of those postings.
    template <class Found>
    void each_held(std::span<const std::uint32_t> numbers, Found&& found) const {
        std::vector<std::uint32_t> positions;
        for (auto& part : parts_) {
            auto wanted = in(numbers, part);
            positions.resize(wanted.size());
            store::find_positions(part.postings.bitmap, wanted, positions);
            auto offset = std::size_t(wanted.data() - numbers.data());
            for (std::size_t j = 0; j < positions.size(); ++j)
                if (positions[j] != store::absent) found(offset + j, part.postings, positions[j]);
        }
    }

  private:
    // Those of `numbers` (ascending) in the part's segment.
    static std::span<const std::uint32_t> in(std::span<const std::uint32_t> numbers,
                                             const part& p) {
        auto from = std::lower_bound(numbers.begin(), numbers.end(), p.first);
        return {from, std::lower_bound(from, numbers.end(), p.end)};
    }

    std::vector<part> parts_;
    std::uint64_t count_ = 0;
    std::optional<Roaring> set_;  // every part's records, once needed
};

// The records a query part may match: the records of the universe that hold every one of `terms`
// when it is not empty (the set not built yet: see content_query::resolve), `set` otherwise.
// When `verify` is set, only those that it accepts (given their analyzed words) match: phrases
// are checked against the text only for the records that need it, best ranked first.
struct candidates {
    Roaring set;
    std::vector<term_postings*> terms;
    std::function<bool(std::uint32_t, const std::vector<std::string>&)> verify;
};

}  // namespace

// The state of one search: its universe of records, the segments, statistics and the terms
// that score.
struct content_query {
    const content_index& index;
    const store::transaction& txn;
    Roaring universe;
    std::vector<segment> segments = searched_segments(txn, index.segments_);
    std::unordered_map<std::string, term_postings> postings;            // loaded terms
    std::unordered_map<std::uint32_t, std::vector<std::string>> words;  // analyzed texts
    struct scored_term {
        term_postings* postings;
        double weight;  // boost x idf
    };
    std::vector<scored_term> scoring;
    const corpus_stats* corpus;  // or this index's own figures
    double records = 0;
    std::array<double, 256> length_norm{};  // k1 (1 - b + b length / average length), by code

    content_query(const content_index& index, const store::transaction& txn,
                  const corpus_stats* corpus)
        : index(index), txn(txn), corpus(corpus) {
        records = double(corpus ? corpus->records : stat(txn, index.stats_, "records"));
        double tokens = double(corpus ? corpus->tokens : stat(txn, index.stats_, "tokens"));
        double average = records > 0 ? std::max(1.0, tokens / records) : 1;
        for (int code = 0; code < 256; ++code)
            length_norm[code] =
                bm25_k1 * (1 - bm25_b + bm25_b * decode_length(std::uint8_t(code)) / average);
    }

    const std::vector<std::string>& words_of(std::uint32_t n) {
        auto it = words.find(n);
        if (it != words.end()) return it->second;
        auto r = index.record(txn, n);
        return words.emplace(n, r ? analyze(r->text) : std::vector<std::string>()).first->second;
    }

    term_postings& load(const std::string& term) {
        auto [it, added] = postings.try_emplace(term);
        auto& p = it->second;
        if (!added) return p;
        auto c = txn.open_cursor(index.blocks_);
        for (auto& s : segments)
            if (auto raw = find_postings(c, s.id, term)) p.add(s, *raw);
        return p;
    }

    // The postings of `term`, which scores with its document frequency in the corpus.
    term_postings* scored_postings(const std::string& term, double boost) {
        auto& p = load(term);
        double df = double(p.count());
        if (corpus) {
            auto held = corpus->holding.find(term);
            if (held == corpus->holding.end())
                throw std::logic_error("the corpus statistics lack the term '" + term + "'");
            df = double(held->second);
        }
        if (boost != 0)
            scoring.push_back({&p, boost * std::log(1.0 + (records - df + 0.5) / (df + 0.5))});
        return &p;
    }

    // The set of `c`, built if it is not yet: the records of the universe held by the rarest of
    // its terms, kept where each other term holds them too.
    Roaring& resolve(candidates& c) {
        if (c.terms.empty()) return c.set;
        std::sort(c.terms.begin(), c.terms.end(),
                  [](auto* a, auto* b) { return a->count() < b->count(); });
        c.set = c.terms[0]->set() & universe;
        for (auto* t : std::span(c.terms).subspan(1))
            c.set = t->among(c.set);
        c.terms.clear();
        return c.set;
    }

    // The union of the postings of the terms that `accept` admits among those from `start` on,
    // while `more` holds for the term, in every segment; within the universe.
    result<candidates> expand(std::string_view start,
                              const std::function<bool(std::string_view)>& more,
                              const std::function<bool(std::string_view)>& accept,
                              const std::string& shown) {
        Roaring out;
        std::unordered_set<std::string> seen;
        for (auto& s : segments) {
            for (segment_terms it(txn, index.blocks_, s.id, start); it.valid() && more(it.term());
                 it.next()) {
                check_deadline();
                auto term = it.term();
                if (!accept(term)) continue;
                if (seen.emplace(term).second && seen.size() > max_expanded_terms)
                    return api_error{error_type::invalid_query_value,
                                     "'" + shown + "' matches too many terms",
                                     {}};
                out |= postings_view(it.postings()).numbers();
            }
        }
        return candidates{out & universe, {}, {}};
    }

    // The records of `set`, a subset of the universe, that `c` holds (whatever its verifier says).
    static Roaring within(candidates& c, Roaring set) {
        if (c.terms.empty()) return set & c.set;
        for (auto* t : c.terms)
            set = t->among(set);
        return set;
    }

    // Only the records of `c` that are accepted, without a verifier.
    Roaring exact(candidates& c) {
        if (!c.verify) return resolve(c);
        Roaring out;
        for (auto n : resolve(c)) {
            check_deadline();
            if (c.verify(n, words_of(n))) out.add(n);
        }
        return out;
    }

    result<candidates> text(const std::string& field, const std::string& text, unsigned slop,
                            double boost) {
        if (auto bad = check_field(field)) return *bad;
        auto terms = analyze(text);
        if (terms.empty()) return candidates{};
        candidates out;
        for (auto& t : terms)
            out.terms.push_back(scored_postings(t, boost));
        if (terms.size() > 1)
            out.verify = [terms, slop](std::uint32_t, auto& words) {
                return holds_phrase(words, terms, slop);
            };
        return out;
    }

    static std::optional<api_error> check_field(const std::string& field) {
        if (field.empty() || field == "text" || field == "content") return std::nullopt;
        return api_error{error_type::invalid_query_value,
                         "content has no field '" + field + "'; search its text",
                         {{"field", field}}};
    }

    result<candidates> operator()(const query::term_query& q, double boost) {
        return text(q.field, q.text, 0, boost);
    }
    result<candidates> operator()(const query::phrase_query& q, double boost) {
        return text(q.field, q.text, q.slop, boost);
    }
    result<candidates> operator()(const query::wildcard_query& q, double) {
        if (auto bad = check_field(q.field)) return *bad;
        std::string pattern;
        for (char ch : q.pattern)
            pattern += char(std::tolower(static_cast<unsigned char>(ch)));
        auto literal = pattern.substr(0, pattern.find_first_of("*?\\"));
        return expand(
            literal, [&](std::string_view term) { return term.starts_with(literal); },
            [&](std::string_view term) { return glob_match(pattern, term); }, q.pattern);
    }
    result<candidates> operator()(const query::fuzzy_query& q, double boost) {
        if (auto bad = check_field(q.field)) return *bad;
        auto terms = analyze(q.text);
        if (terms.size() != 1) return text(q.field, q.text, 0, boost);
        auto& target = terms[0];
        auto distance = q.distance;
        return expand(
            "", [](std::string_view) { return true; },
            [&](std::string_view term) {
                return store::within_edit_distance(term, target, distance);
            },
            q.text);
    }
    result<candidates> operator()(const query::range_query& q, double) {
        if (auto bad = check_field(q.field)) return *bad;
        auto bound = [](const std::optional<std::string>& b) -> std::optional<std::string> {
            if (!b) return std::nullopt;
            auto t = analyze(*b);
            return t.empty() ? std::string() : t[0];
        };
        auto lo = bound(q.lower), hi = bound(q.upper);
        return expand(
            lo.value_or(""),
            [&](std::string_view term) {
                return !hi || term < *hi || (term == *hi && q.include_upper);
            },
            [&](std::string_view term) { return !lo || term != *lo || q.include_lower; }, q.field);
    }
    result<candidates> operator()(const query::exists_query& q, double) {
        if (auto bad = check_field(q.field)) return *bad;
        return candidates{universe, {}, {}};
    }
    result<candidates> operator()(const query::match_all_query&, double) {
        return candidates{universe, {}, {}};
    }
    result<candidates> operator()(const query::boolean_query& q, double boost) {
        std::optional<candidates> must;
        std::vector<std::shared_ptr<candidates>> should;
        Roaring must_not;
        for (auto& c : q.clauses) {
            auto r = run(c.query, c.how == query::occur::must_not ? 0.0 : boost);
            if (!r) return r;
            if (c.how == query::occur::must) {
                if (!must) {
                    must = std::move(*r);
                    continue;
                }
                if (!must->terms.empty() && !r->terms.empty()) {
                    must->terms.insert(must->terms.end(), r->terms.begin(), r->terms.end());
                } else if (must->terms.empty()) {
                    must->set = within(*r, std::move(must->set));
                } else {
                    must->set = within(*must, std::move(r->set));
                    must->terms.clear();
                }
                if (r->verify) {
                    auto mine = std::move(must->verify), theirs = std::move(r->verify);
                    must->verify = [mine, theirs](std::uint32_t n, auto& words) {
                        return (!mine || mine(n, words)) && theirs(n, words);
                    };
                }
            } else if (c.how == query::occur::should) {
                should.push_back(std::make_shared<candidates>(std::move(*r)));
            } else {
                must_not |= exact(*r);
            }
        }
        candidates out;
        if (must) {
            out = std::move(*must);
        } else if (!should.empty()) {
            for (auto& s : should)
                out.set |= resolve(*s);
            if (std::any_of(should.begin(), should.end(), [](auto& s) { return bool(s->verify); }))
                out.verify = [should](std::uint32_t n, auto& words) {
                    return std::any_of(should.begin(), should.end(), [&](auto& s) {
                        return s->set.contains(n) && (!s->verify || s->verify(n, words));
                    });
                };
        } else {
            out.set = universe;
        }
        if (!must_not.isEmpty()) resolve(out) -= must_not;
        return out;
    }

    result<candidates> run(const query::node& n, double boost) {
        return std::visit([&](auto& q) { return (*this)(q, boost * n.boost); }, n.value);
    }

    // The BM25 rank of each of `numbers` (ascending) from the scoring terms' postings.
    std::vector<double> ranks(const std::vector<std::uint32_t>& numbers) {
        std::vector<double> out(numbers.size(), 0.0);
        for (auto& s : scoring)
            s.postings->each_held(
                numbers, [&](std::size_t j, const postings_view& p, std::uint32_t i) {
                    double tf = p.tf[i];
                    out[j] += s.weight * tf * (bm25_k1 + 1) / (tf + length_norm[p.length[i]]);
                });
        return out;
    }

    struct ranked {
        double rank;
        std::uint32_t number;
    };
    // The better ranks higher; ties go to the smaller record number.
    static bool better(const ranked& a, const ranked& b) {
        return a.rank > b.rank || (a.rank == b.rank && a.number < b.number);
    }

    // The `size` best of `set`, best first. Terms are taken by weight, highest first, each ranking
    // the records of `set` it holds that no earlier term held: once the worst kept beats what the
    // records holding only later terms could reach (MaxScore), they are not ranked.
    // The `size` best of the records offered.
    struct best_ranked {
        std::size_t size;
        std::vector<ranked> heap = {};  // the worst on top

        bool full() const { return heap.size() == size; }
        const ranked& worst() const { return heap.front(); }
        void offer(const ranked& r) {
            if (heap.size() < size) {
                heap.push_back(r);
                std::push_heap(heap.begin(), heap.end(), better);
            } else if (better(r, heap.front())) {
                std::pop_heap(heap.begin(), heap.end(), better);
                heap.back() = r;
                std::push_heap(heap.begin(), heap.end(), better);
            }
        }
        // Best first.
        std::vector<ranked> sorted() && {
            std::sort_heap(heap.begin(), heap.end(), better);
            return std::move(heap);
        }
    };

    // Only records ranked above `above` are taken (the best of other partitions so far).
    std::vector<ranked> best_of(const Roaring& set, std::size_t size,
                                double above = -std::numeric_limits<double>::infinity()) {
        if (size == 0) return {};
        best_ranked best{size};
        std::vector<const scored_term*> order;
        double reach = 0;  // above any rank of a record holding only the terms not taken yet
        for (auto& s : scoring) {
            order.push_back(&s);
            reach += std::max(0.0, s.weight) * (bm25_k1 + 1);
        }
        std::sort(order.begin(), order.end(),
                  [](auto* x, auto* y) { return x->weight > y->weight; });
        auto beaten = [&] { return (best.full() && best.worst().rank >= reach) || above >= reach; };
        Roaring rest = set;
        for (auto* s : order) {
            if (beaten()) return std::move(best).sorted();
            Roaring part = s->postings->among(rest);
            rest -= part;
            reach -= std::max(0.0, s->weight) * (bm25_k1 + 1);
            std::vector<std::uint32_t> numbers(part.cardinality());
            part.toUint32Array(numbers.data());
            auto rank = ranks(numbers);
            for (std::size_t i = 0; i < numbers.size(); ++i)
                if (rank[i] > above) best.offer({rank[i], numbers[i]});
        }
        // The records holding no scoring term rank 0: by number, until one cannot enter.
        if (above >= 0) return std::move(best).sorted();
        for (auto n : rest) {
            if (best.full() && !better({0, n}, best.worst())) break;
            best.offer({0, n});
        }
        return std::move(best).sorted();
    }

    // The `limit` best-ranked matching records that still exist, ranked above `above`, best
    // first (ties by record number).
    std::vector<content_hit> top(candidates& c, std::size_t limit,
                                 double above = -std::numeric_limits<double>::infinity()) {
        resolve(c);
        std::vector<content_hit> out;
        auto take = [&](const ranked& r) {
            if (auto record = index.record(txn, r.number))
                out.push_back({r.number, r.rank, std::move(*record)});
        };
        if (!c.verify) {
            for (auto& r : best_of(c.set, limit, above))
                take(r);
            return out;
        }
        // Phrases: every candidate ranked once, then verified best first until enough pass, in
        // batches of the best not verified yet (4 times the limit, then 8 times more each time).
        std::vector<std::uint32_t> numbers(c.set.cardinality());
        c.set.toUint32Array(numbers.data());
        auto rank = ranks(numbers);
        std::optional<ranked> verified;  // the last verified, worse than every one before
        auto grown = [&](std::size_t size, std::size_t times) {
            return size > numbers.size() / times ? numbers.size() : size * times;
        };
        for (auto size = grown(limit, 4); out.size() < limit; size = grown(size, 8)) {
            best_ranked batch{size};
            for (std::size_t i = 0; i < numbers.size(); ++i)
                if (ranked r{rank[i], numbers[i]};
                    r.rank > above && (!verified || better(*verified, r)))
                    batch.offer(r);
            if (batch.heap.empty()) break;
            for (auto& r : std::move(batch).sorted()) {
                if (out.size() == limit) break;
                check_deadline();
                verified = r;
                if (!c.verify(r.number, words_of(r.number))) continue;
                words.erase(r.number);
                take(r);
            }
        }
        return out;
    }

    // The first sessions of `set` (known without reading texts) for visit(), best first, ties by
    // id, each at its best record, as search_sessions gives them: those of the best `batch`
    // records (MaxScore, best_of) ranked above the last of them (the records ranked as that one
    // may go on past it), or all when they are all. Returns whether the visitor is done; `seen`
    // holds the sessions visited.
    template <class SessionOf>
    bool first_sessions(const Roaring& set, std::size_t batch, SessionOf&& session_of,
                        const std::function<bool(const session_match&)>& visit,
                        std::unordered_set<std::uint64_t>& seen) {
        const bool whole = batch >= set.cardinality();
        auto best = best_of(set, whole ? std::size_t(set.cardinality()) : batch);
        std::vector<session_match> tied;  // of one rank, waiting for it to change
        auto release = [&] {
            std::sort(tied.begin(), tied.end(),
                      [](auto& a, auto& b) { return a.session < b.session; });
            for (auto& m : tied)
                if (!visit(m)) return false;
            tied.clear();
            return true;
        };
        for (auto& r : best) {
            check_deadline();
            if (!whole && r.rank <= best.back().rank) break;
            auto session = session_of(r.number);
            if (!seen.insert(session).second) continue;  // at a better record already
            if (!tied.empty() && tied.front().rank != r.rank && !release()) return true;
            tied.push_back({session, r.rank, 0});
        }
        return !release() || whole;
    }
};

result<std::vector<content_hit>> content_index::search(const store::transaction& txn,
                                                       const query::node& q, std::uint64_t session,
                                                       std::size_t limit,
                                                       const corpus_stats* corpus) const {
    content_query run{*this, txn, corpus};
    auto c = txn.open_cursor(by_session_);
    add_session_records(c, session, run.universe);
    auto matches = run.run(q, 1.0);
    if (!matches) return matches.error();
    return run.top(*matches, limit);
}

namespace {

// The terms of `n` that score: those of its terms and phrases (what content_query::text takes).
void scored_terms(const query::node& n, std::set<std::string>& out) {
    auto text = [&](const std::string& t) {
        for (auto& term : analyze(t))
            out.insert(term);
    };
    std::visit(
        [&](auto& q) {
            using type = std::decay_t<decltype(q)>;
            if constexpr (std::is_same_v<type, query::term_query> ||
                          std::is_same_v<type, query::phrase_query>) {
                text(q.text);
            } else if constexpr (std::is_same_v<type, query::fuzzy_query>) {
                if (analyze(q.text).size() != 1) text(q.text);  // searched as its terms
            } else if constexpr (std::is_same_v<type, query::boolean_query>) {
                for (auto& c : q.clauses)
                    scored_terms(c.query, out);
            }
        },
        n.value);
}

// Every record that exists.
Roaring live_records(const store::transaction& txn, store::table live) {
    Roaring out;
    auto c = txn.open_cursor(live);
    for (bool ok = c.first(); ok; ok = c.next())
        out |= store::read_bitmap(c.value());
    return out;
}

}  // namespace

result<void> content_index::check(const query::node& q) {
    std::optional<api_error> bad;
    auto walk = [&](auto& self, const query::node& n) -> void {
        std::visit(
            [&](auto& leaf) {
                if constexpr (requires { leaf.clauses; }) {
                    for (auto& c : leaf.clauses)
                        if (!bad) self(self, c.query);
                } else if constexpr (requires { leaf.field; }) {
                    bad = content_query::check_field(leaf.field);
                }
            },
            n.value);
    };
    walk(walk, q);
    if (bad) return *bad;
    return {};
}

corpus_stats& corpus_stats::operator+=(const corpus_stats& other) {
    records += other.records;
    tokens += other.tokens;
    for (auto& [term, count] : other.holding)
        holding[term] += count;
    return *this;
}

corpus_stats content_index::statistics(const store::transaction& txn, const query::node& q) const {
    content_query run{*this, txn, nullptr};
    corpus_stats out{stat(txn, stats_, "records"), stat(txn, stats_, "tokens"), {}};
    std::set<std::string> terms;
    scored_terms(q, terms);
    for (auto& t : terms)
        out.holding.emplace(t, run.load(t).count());
    return out;
}

result<std::vector<content_hit>> content_index::search_records(const store::transaction& txn,
                                                               const query::node& q,
                                                               std::size_t limit,
                                                               const corpus_stats* corpus,
                                                               double above) const {
    content_query run{*this, txn, corpus};
    run.universe = live_records(txn, live_);
    auto matches = run.run(q, 1.0);
    if (!matches) return matches.error();
    return run.top(*matches, limit, above);
}

result<void> content_index::search_sessions(const store::transaction& txn, const query::node& q,
                                            const std::vector<std::uint64_t>* among,
                                            bool count_hits,
                                            const std::function<bool(const session_match&)>& visit,
                                            const corpus_stats* corpus) const {
    content_query run{*this, txn, corpus};
    if (among) {
        auto c = txn.open_cursor(by_session_);
        for (auto session : *among)
            add_session_records(c, session, run.universe);
    } else {
        run.universe = live_records(txn, live_);
    }
    auto matches = run.run(q, 1.0);
    if (!matches) return matches.error();
    // The session of record n, from the record column; a chunk is looked up once, and records in
    // ascending order find theirs without a lookup.
    std::unordered_map<std::uint32_t, std::string_view> chunks;
    std::uint32_t last_chunk = std::numeric_limits<std::uint32_t>::max();
    std::string_view column;
    auto session_of = [&](std::uint32_t n) {
        if (n / session_chunk != last_chunk) {
            last_chunk = n / session_chunk;
            auto [it, added] = chunks.try_emplace(last_chunk);
            if (added) it->second = *txn.get(sessions_, u32_key(last_chunk));
            column = it->second;
        }
        return store::read_u64(column, std::size_t(n % session_chunk) * 8);
    };
    // A visitor that wants a few sessions has them from the best records alone.
    std::unordered_set<std::uint64_t> visited;
    if (!matches->verify && !count_hits && !run.scoring.empty() &&
        run.first_sessions(run.resolve(*matches), 1024, session_of, visit, visited))
        return {};
    if (!matches->verify || count_hits) {
        // Every matching record is known without reading texts (or must be counted): each
        // session's best rank and hits in one pass, the sessions then in order (after those
        // visited already).
        auto found = run.exact(*matches);
        std::vector<std::uint32_t> numbers(found.cardinality());
        found.toUint32Array(numbers.data());
        auto rank = run.ranks(numbers);
        std::unordered_map<std::uint64_t, session_match> by_session;
        for (std::size_t i = 0; i < numbers.size(); ++i) {
            check_deadline();
            auto session = session_of(numbers[i]);
            auto [it, added] = by_session.try_emplace(session, session_match{session, rank[i], 0});
            it->second.rank = std::max(it->second.rank, rank[i]);
            ++it->second.hits;
        }
        std::vector<session_match> out;
        out.reserve(by_session.size());
        for (auto& [id, m] : by_session)
            if (!visited.contains(id)) out.push_back(m);
        std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
            return a.rank > b.rank || (a.rank == b.rank && a.session < b.session);
        });
        for (auto& m : out)
            if (!visit(m)) break;
        return {};
    }
    // Phrases: the candidates best first (ties by number), sorted a batch at a time and verified
    // in that order, so that a visitor that stops early leaves most texts unread. A session is
    // known at its first verified record; sessions of equal rank wait for the rank to change, to
    // go in the order of their ids.
    const auto& candidates = run.resolve(*matches);
    std::vector<std::uint32_t> numbers(candidates.cardinality());
    candidates.toUint32Array(numbers.data());
    const auto rank = run.ranks(numbers);
    std::vector<std::uint32_t> order(numbers.size());
    std::iota(order.begin(), order.end(), 0u);
    auto better = [&](std::uint32_t x, std::uint32_t y) {
        return rank[x] > rank[y] || (rank[x] == rank[y] && x < y);
    };
    std::unordered_set<std::uint64_t> seen;
    std::vector<session_match> tied;
    auto release = [&] {
        std::sort(tied.begin(), tied.end(), [](auto& a, auto& b) { return a.session < b.session; });
        for (auto& m : tied)
            if (!visit(m)) return false;
        tied.clear();
        return true;
    };
    for (std::size_t done = 0, batch = 1024; done < order.size(); done += batch, batch *= 8) {
        batch = std::min(batch, order.size() - done);
        auto from = order.begin() + std::ptrdiff_t(done), to = from + std::ptrdiff_t(batch);
        std::nth_element(from, to - 1, order.end(), better);
        std::sort(from, to, better);
        for (auto at = from; at != to; ++at) {
            check_deadline();
            auto n = numbers[*at];
            bool held = matches->verify(n, run.words_of(n));
            run.words.erase(n);
            if (!held) continue;
            auto session = session_of(n);
            if (!seen.insert(session).second) continue;
            if (!tied.empty() && tied.front().rank != rank[*at] && !release()) return {};
            tied.push_back({session, rank[*at], 0});
        }
    }
    release();
    return {};
}

}  // namespace audex::index
