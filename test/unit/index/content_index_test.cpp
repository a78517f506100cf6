// The content index: storage, search and purge, and a randomised comparison of its executor with a
// brute-force scan of the same records.
#include "index/content_index.hpp"
#include "all_sessions.hpp"
#include "index/analyzer.hpp"
#include "store/keys.hpp"

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <set>

namespace {

using namespace audex;
using audex::index::test::all_sessions;

struct temp_store {
    std::filesystem::path dir;
    std::unique_ptr<store::environment> env;
    std::unique_ptr<index::content_index> content;

    temp_store() {
        dir = std::filesystem::temp_directory_path() /
              ("audex-content-" + std::to_string(std::random_device{}()));
        env = std::make_unique<store::environment>(dir);
        content = std::make_unique<index::content_index>(*env);
    }
    ~temp_store() {
        content.reset();
        env.reset();
        std::filesystem::remove_all(dir);
    }

    void add(std::uint64_t session, std::vector<std::string> texts) {
        std::vector<index::content_record> records;
        for (auto& t : texts) {
            index::content_record r;
            r.session = session;
            r.type = "command";
            r.text = t;
            records.push_back(r);
        }
        env->write([&](store::transaction& txn) { content->add(txn, records); });
    }

    std::vector<std::string> search(std::uint64_t session, std::string_view q,
                                    std::size_t limit = std::numeric_limits<std::size_t>::max()) {
        auto parsed = query::parse(q);
        BOOST_TEST_REQUIRE(std::holds_alternative<query::node>(parsed), "query: " << q);
        auto txn = env->read();
        auto hits = content->search(txn, std::get<query::node>(parsed), session, limit);
        BOOST_TEST_REQUIRE(hits.has_value(), "query: " << q);
        std::vector<std::string> texts;
        for (auto& h : *hits)
            texts.push_back(h.record.text);
        return texts;
    }
};

// The brute-force reading of a query over one record's words.
bool brute(const query::node& n, const std::vector<std::string>& words) {
    auto holds = [&](const std::string& text) {
        auto phrase = index::analyze(text);
        if (phrase.empty()) return false;
        return std::search(words.begin(), words.end(), phrase.begin(), phrase.end()) != words.end();
    };
    if (auto* t = std::get_if<query::term_query>(&n.value)) return holds(t->text);
    if (auto* p = std::get_if<query::phrase_query>(&n.value)) return holds(p->text);
    if (auto* w = std::get_if<query::wildcard_query>(&n.value)) {
        auto prefix = w->pattern.substr(0, w->pattern.size() - 1);
        return std::any_of(words.begin(), words.end(),
                           [&](auto& x) { return x.starts_with(prefix); });
    }
    auto& b = std::get<query::boolean_query>(n.value);
    bool any_must = false, any_should = false, should = false;
    for (auto& c : b.clauses) {
        bool m = brute(c.query, words);
        if (c.how == query::occur::must) {
            any_must = true;
            if (!m) return false;
        } else if (c.how == query::occur::must_not) {
            if (m) return false;
        } else {
            any_should = true;
            should = should || m;
        }
    }
    return any_must || !any_should || should;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(content_index)

BOOST_AUTO_TEST_CASE(finds_what_the_screen_showed) {
    temp_store s;
    s.add(1, {"myuser@host:~$ man iptables", "cat /etc/shadow", "ping 10.0.0.1",
              "systemctl restart nginx.service", "tail -f /var/log/nginx/error.log"});
    s.add(2, {"man iptables on another session"});
    BOOST_TEST(s.search(1, "iptables") == std::vector<std::string>{"myuser@host:~$ man iptables"});
    BOOST_TEST(s.search(1, "\"man iptables\"").size() == 1u);
    BOOST_TEST(s.search(1, "\"/etc/shadow\"") == std::vector<std::string>{"cat /etc/shadow"});
    BOOST_TEST(s.search(1, "10.0.0.1") == std::vector<std::string>{"ping 10.0.0.1"});
    BOOST_TEST(s.search(1, "\"10.0.0.2\"").empty());
    BOOST_TEST(s.search(1, "nginx").size() == 2u);
    BOOST_TEST(s.search(1, "ngin*").size() == 2u);
    BOOST_TEST(s.search(1, "iptablez~1").size() == 1u);
    BOOST_TEST(s.search(1, "\"restart nginx\"~0").size() == 1u);
    BOOST_TEST(s.search(1, "\"nginx restart\"").empty());
    BOOST_TEST(s.search(1, "\"nginx restart\"~2").size() == 1u);
    BOOST_TEST(s.search(1, "nginx AND NOT error").size() == 1u);
    BOOST_TEST(s.search(1, "NOT nginx").size() == 3u);
    BOOST_TEST(s.search(2, "shadow").empty());
}

BOOST_AUTO_TEST_CASE(ranks_rarer_and_boosted_terms_higher) {
    temp_store s;
    s.add(1, {"ls ls ls", "ls secret", "secret"});
    auto hits = s.search(1, "ls OR secret^5");
    BOOST_TEST_REQUIRE(hits.size() == 3u);
    // BM25: the boosted term outweighs three hits of the other; shorter records weigh more.
    BOOST_TEST(hits[0] == "secret");
    BOOST_TEST(hits[1] == "ls secret");
    BOOST_TEST(hits[2] == "ls ls ls");
    BOOST_TEST(s.search(1, "ls^5 OR secret")[0] == "ls ls ls");
}

BOOST_AUTO_TEST_CASE(a_limited_search_gives_the_best_of_the_whole_ranking) {
    temp_store s;
    s.add(1, {"sudo ls", "sudo sudo ls", "iptables -L", "sudo iptables -F", "ls", "sudo",
              "cat /etc/shadow", "sudo cat /etc/shadow", "iptables iptables", "sudo su -"});
    s.add(2, {"sudo sudo sudo"});
    for (auto q : {"sudo", "sudo OR iptables", "\"cat /etc/shadow\"", "sudo AND NOT ls"}) {
        auto all = s.search(1, q);
        BOOST_TEST_REQUIRE(all.size() > 1u, q);
        for (std::size_t k = 0; k <= all.size() + 1; ++k) {
            auto best =
                std::vector<std::string>(all.begin(), all.begin() + std::min(k, all.size()));
            BOOST_TEST(s.search(1, q, k) == best, q << " limit " << k);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_phrase_search_verifies_past_the_best_ranked_candidates) {
    // Hundreds of short records hold both words in the wrong order and outrank the few longer
    // ones that hold the phrase: verification goes on through several batches of candidates.
    temp_store s;
    std::vector<std::string> texts(300, "beta alpha");
    texts.insert(texts.begin() + 100, "one two three alpha beta");
    texts.push_back("alpha beta one two three four");
    texts.push_back("one two three four five alpha beta");
    s.add(1, texts);
    BOOST_TEST(
        (s.search(1, "\"alpha beta\"", 2) ==
         std::vector<std::string>{"one two three alpha beta", "alpha beta one two three four"}));
    BOOST_TEST(s.search(1, "\"alpha beta\"").size() == 3u);
    BOOST_TEST(s.search(1, "\"alpha beta\"", 1000).size() == 3u);
}

BOOST_AUTO_TEST_CASE(rejects_fields_content_does_not_have) {
    temp_store s;
    s.add(1, {"x"});
    auto parsed = query::parse("protocol:ssh");
    auto txn = s.env->read();
    auto hits = s.content->search(txn, std::get<query::node>(parsed), 1, 10);
    BOOST_TEST_REQUIRE(!hits.has_value());
    BOOST_TEST(hits.error().type == audex::error_type::invalid_query_value);
}

BOOST_AUTO_TEST_CASE(purge_removes_records_and_postings) {
    temp_store s;
    s.add(1, {"alpha beta", "gamma"});
    s.add(2, {"alpha"});
    s.env->write([&](store::transaction& txn) { s.content->purge_session(txn, 1); });
    BOOST_TEST(s.search(1, "alpha").empty());
    BOOST_TEST(s.search(2, "alpha").size() == 1u);
    std::size_t left = 0;
    auto txn = s.env->read();
    s.content->scan_session(txn, 1, [&](auto, auto&) { return ++left, true; });
    BOOST_TEST(left == 0u);
}

BOOST_AUTO_TEST_CASE(a_large_purge_goes_in_bounded_steps) {
    temp_store s;
    s.add(1, {"alpha one", "alpha two"});
    s.add(2, {"alpha other"});
    s.add(1, {"alpha three", "alpha four"});
    s.add(1, {"alpha five", "alpha six"});
    s.env->write([&](store::transaction& txn) { s.content->mark_for_purge(txn, 1); });
    auto left = [&] {
        std::vector<std::string> out;
        auto txn = s.env->read();
        s.content->scan_session(txn, 1, [&](auto, auto& r) { return out.push_back(r.text), true; });
        return out;
    };
    auto pending = [&] { return s.content->pending_purges(s.env->read()); };
    auto step = [&] {
        return s.env->write(
            [&](store::transaction& txn) { return s.content->purge_session(txn, 1, 3); });
    };
    // Whole runs until at least 3 records: the first two runs.
    BOOST_TEST(!step());
    BOOST_TEST(left() == (std::vector<std::string>{"alpha five", "alpha six"}));
    BOOST_TEST(s.search(1, "alpha").size() == 2u);
    BOOST_TEST(s.search(1, "three").empty());
    BOOST_TEST(pending() == std::vector<std::uint64_t>{1});  // a stop now finds it again
    BOOST_TEST(step());
    BOOST_TEST(left().empty());
    BOOST_TEST(s.search(1, "alpha").empty());
    BOOST_TEST(pending().empty());
    BOOST_TEST(s.search(2, "alpha").size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_last_record_numbers_are_used_and_then_content_is_refused) {
    temp_store s;
    s.add(1, {"alpha early"});
    auto stats = s.env->open_table("content.stats");
    s.env->write([&](store::transaction& txn) {
        txn.put(stats, "next_record", store::u64_key(index::content_index::max_records - 2));
    });
    s.add(2, {"alpha late", "beta late"});  // the last two numbers
    BOOST_TEST(s.search(2, "late").size() == 2u);
    BOOST_TEST(s.search(1, "alpha").size() == 1u);
    BOOST_CHECK_EXCEPTION(s.add(2, {"gamma"}), api_exception, [](const api_exception& e) {
        return e.error.type == error_type::search_unavailable &&
               e.error.details.at("reason") == "record_numbers";
    });
    BOOST_TEST(s.search(2, "gamma").empty());
    BOOST_TEST(s.search(2, "alpha").size() == 1u);
}

BOOST_AUTO_TEST_CASE(keeps_each_sessions_records_as_runs) {
    temp_store s;
    std::vector<index::content_record> records;
    for (auto [session, text] : std::vector<std::pair<int, std::string>>{
             {1, "one a"}, {1, "one b"}, {2, "two a"}, {1, "one c"}, {2, "two b"}}) {
        records.emplace_back();
        records.back().session = std::uint64_t(session);
        records.back().text = text;
    }
    s.env->write([&](store::transaction& txn) { s.content->add(txn, records); });
    s.add(1, {"one d", "one e"});
    auto texts = [&](std::uint64_t session) {
        std::vector<std::string> out;
        auto txn = s.env->read();
        s.content->scan_session(txn, session, [&](auto, auto& r) {
            out.push_back(r.text);
            return true;
        });
        return out;
    };
    using strings = std::vector<std::string>;
    BOOST_TEST(texts(1) == (strings{"one a", "one b", "one c", "one d", "one e"}));
    BOOST_TEST(texts(2) == (strings{"two a", "two b"}));
    BOOST_TEST(s.search(2, "two").size() == 2u);
    BOOST_TEST(s.search(1, "two").empty());
    auto by_session = s.env->open_table("content.by_session");
    BOOST_TEST(s.env->read().entries(by_session) == 5u);  // 1: 0-1, 3, 5-6; 2: 2, 4
    s.env->write([&](store::transaction& txn) { s.content->purge_session(txn, 1); });
    BOOST_TEST(texts(1).empty());
    BOOST_TEST(texts(2) == (strings{"two a", "two b"}));
    BOOST_TEST(s.env->read().entries(by_session) == 2u);
}

// One write of 20,000 distinct terms, short and longer than a term's inline key, each in its own
// record and in one record that holds them all: every term finds exactly those two.
BOOST_AUTO_TEST_CASE(indexes_a_segment_of_many_distinct_terms) {
    temp_store s;
    std::vector<std::string> texts;
    std::string all;
    for (int i = 0; i < 20000; ++i) {
        auto t = (i % 3 ? "t" : "longerthanfifteenbytes") + std::to_string(i * 7919);
        texts.push_back(t);
        all += t + " ";
    }
    texts.push_back(all);
    s.add(1, texts);
    for (std::size_t i = 0; i < 20000; i += 97) {
        auto got = s.search(1, texts[i]);
        std::multiset<std::string> expected{texts[i], all};
        BOOST_TEST((std::multiset<std::string>(got.begin(), got.end()) == expected),
                   "term: " << texts[i]);
    }
}

BOOST_AUTO_TEST_CASE(survives_reopening) {
    temp_store s;
    s.add(7, {"persisted words"});
    s.content.reset();
    s.env.reset();
    s.env = std::make_unique<store::environment>(s.dir);
    s.content = std::make_unique<index::content_index>(*s.env);
    BOOST_TEST(s.search(7, "persisted").size() == 1u);
}

BOOST_AUTO_TEST_CASE(agrees_with_a_brute_force_scan) {
    temp_store s;
    std::mt19937 rng(20261123);
    std::vector<std::string> vocabulary = {"ls",  "cat", "etc",   "passwd", "sudo", "rm",
                                           "var", "log", "nginx", "root",   "ssh",  "10",
                                           "0",   "1",   "grep",  "error"};
    // Rarer terms around the 15 bytes that a term's key holds inline.
    for (auto t :
         {"fifteenletterss", "fifteenletterssx", "authorizedkeysfile", "authorizedkeysfilx"})
        vocabulary.push_back(t);
    auto word = [&] {
        // Zipf-like: low indices far more often.
        std::uniform_real_distribution<double> u(0, 1);
        return vocabulary[std::size_t(std::pow(u(rng), 2.5) * vocabulary.size())];
    };
    std::vector<std::string> texts;
    for (int i = 0; i < 400; ++i) {
        std::string t;
        int n = 1 + int(rng() % 8);
        for (int j = 0; j < n; ++j)
            t += (j ? (rng() % 3 ? " " : "/") : "") + word();
        texts.push_back(t);
    }
    s.add(1, texts);
    s.add(2, {"ls cat etc passwd"});  // another session's records must never show up
    std::vector<std::vector<std::string>> words;
    for (auto& t : texts)
        words.push_back(index::analyze(t));
    auto leaf = [&] {
        switch (rng() % 4) {
            case 0:
                return "\"" + word() + " " + word() + "\"";
            case 1:
                return word().substr(0, 2) + "*";
            default:
                return word();
        }
    };
    for (int i = 0; i < 300; ++i) {
        std::string q = leaf();
        int n = int(rng() % 4);
        for (int j = 0; j < n; ++j) {
            static const char* ops[] = {" AND ", " OR ", " AND NOT ", " "};
            q += ops[rng() % 4] + leaf();
        }
        auto parsed = query::parse(q);
        BOOST_TEST_REQUIRE(std::holds_alternative<query::node>(parsed), q);
        std::multiset<std::string> expected;
        for (std::size_t r = 0; r < texts.size(); ++r)
            if (brute(std::get<query::node>(parsed), words[r])) expected.insert(texts[r]);
        auto got = s.search(1, q);
        BOOST_TEST((std::multiset<std::string>(got.begin(), got.end()) == expected),
                   "query: " << q);
    }
}

BOOST_AUTO_TEST_CASE(top_records_across_sessions_agree_with_brute_force_bm25) {
    temp_store s;
    std::mt19937 rng(20261124);
    const std::vector<std::string> vocabulary = {"ls",  "cat",  "etc",  "passwd", "sudo",
                                                 "rm",  "var",  "log",  "nginx",  "root",
                                                 "ssh", "grep", "tail", "error",  "kill"};
    auto word = [&] {
        std::uniform_real_distribution<double> u(0, 1);
        return vocabulary[std::size_t(std::pow(u(rng), 2.0) * vocabulary.size())];
    };
    std::vector<std::string> texts;
    for (std::uint64_t session = 1; session <= 4; ++session) {
        std::vector<std::string> batch;
        for (int i = 0; i < 150; ++i) {
            std::string t;
            int n = 1 + int(rng() % 10);
            for (int j = 0; j < n; ++j)
                t += (j ? " " : "") + word();
            batch.push_back(t + " r" + std::to_string(texts.size() + batch.size()));
        }
        // In writes of 10 records, some of them merged: ranks come from many segments.
        for (std::size_t at = 0; at < batch.size(); at += 10)
            s.add(session, {batch.begin() + at, batch.begin() + at + 10});
        texts.insert(texts.end(), batch.begin(), batch.end());
        if (session == 2) s.content->merge_all(*s.env);
    }
    std::vector<std::vector<std::string>> words;
    double tokens = 0;
    for (auto& t : texts) {
        words.push_back(index::analyze(t));
        tokens += double(words.back().size());
    }
    const double records = double(texts.size()), avg = tokens / records;
    auto bm25 = [&](const std::vector<std::string>& terms, std::size_t r) {
        double rank = 0;
        for (auto& term : terms) {
            double df = 0;
            for (auto& w : words)
                df += std::count(w.begin(), w.end(), term) ? 1 : 0;
            double tf = double(std::count(words[r].begin(), words[r].end(), term));
            if (tf == 0) continue;
            rank += std::log(1 + (records - df + 0.5) / (df + 0.5)) * tf * 2.2 /
                    (tf + 1.2 * (0.25 + 0.75 * double(words[r].size()) / avg));
        }
        return rank;
    };
    auto prefixed = [&](std::size_t r, const std::string& prefix) {
        return std::any_of(words[r].begin(), words[r].end(),
                           [&](auto& w) { return w.starts_with(prefix); });
    };
    for (int i = 0; i < 150; ++i) {
        if (i % 3 == 2) {
            // A prefix does not score: every match ranks 0, the first records win.
            auto prefix = word().substr(0, 1 + rng() % 2);
            std::vector<std::string> expected;
            for (std::size_t r = 0; r < texts.size() && expected.size() < 10; ++r)
                if (prefixed(r, prefix)) expected.push_back(texts[r]);
            auto txn = s.env->read();
            auto hits = s.content->search_records(
                txn, std::get<query::node>(query::parse(prefix + "*")), 10);
            BOOST_TEST_REQUIRE(hits.has_value(), prefix);
            std::vector<std::string> got;
            for (auto& h : *hits) {
                BOOST_TEST(h.rank == 0.0);
                got.push_back(h.record.text);
            }
            BOOST_TEST(got == expected, prefix << "*");
            continue;
        }
        std::vector<std::string> terms{word()};
        while (terms.size() < 1 + rng() % 3) {
            auto w = word();
            if (std::find(terms.begin(), terms.end(), w) == terms.end()) terms.push_back(w);
        }
        enum { all, any, phrase } how = decltype(all)(rng() % 3);
        std::string q;
        for (auto& t : terms)
            q += (q.empty() ? "" : how == all ? " AND " : how == any ? " OR " : " ") + t;
        if (how == phrase) q = "\"" + q + "\"";
        // Brute force: every matching record with its rank, best first, ties by position.
        std::vector<std::pair<double, std::string>> expected;
        for (std::size_t r = 0; r < texts.size(); ++r) {
            auto has = [&](auto& t) { return std::count(words[r].begin(), words[r].end(), t) > 0; };
            if (how == all   ? std::all_of(terms.begin(), terms.end(), has)
                : how == any ? std::any_of(terms.begin(), terms.end(), has)
                             : std::search(words[r].begin(), words[r].end(), terms.begin(),
                                           terms.end()) != words[r].end())
                expected.emplace_back(bm25(terms, r), texts[r]);
        }
        std::stable_sort(expected.begin(), expected.end(),
                         [](auto& a, auto& b) { return a.first > b.first; });
        auto txn = s.env->read();
        auto hits = s.content->search_records(txn, std::get<query::node>(query::parse(q)), 10);
        BOOST_TEST_REQUIRE(hits.has_value(), q);
        BOOST_TEST_REQUIRE(hits->size() == std::min<std::size_t>(10, expected.size()), q);
        for (std::size_t k = 0; k < hits->size(); ++k) {
            BOOST_TEST(std::abs((*hits)[k].rank - expected[k].first) < 1e-9, q << " #" << k);
            BOOST_TEST((*hits)[k].record.text == expected[k].second, q << " #" << k);
        }
    }
}

// Merges sixteen writes of `records` records each, step by step, and checks every answer after each
// step and after reopening. `before_writing` runs in each step that writes blocks, between its
// reading and its writing.
struct merge_run {
    int steps = 0;  // the first starts the merge; every other writes blocks
    int grown = 0;  // the steps that grew the map
};
merge_run merge_and_compare_answers(int records,
                                    const std::function<void(temp_store&)>& before_writing) {
    temp_store s;
    std::mt19937 rng(20261125);
    // Common words and many distinct ones: with 2,500 records a write, a merge takes several steps.
    auto word = [&] {
        return rng() % 3 ? "w" + std::to_string(rng() % 100000) : "c" + std::to_string(rng() % 50);
    };
    for (std::size_t write = 0; write < index::content_index::merge_width; ++write) {
        std::vector<std::string> texts;
        for (int i = 0; i < records; ++i) {
            std::string t;
            for (int j = 0, n = 2 + int(rng() % 10); j < n; ++j)
                t += (j ? " " : "") + word();
            texts.push_back(t);
        }
        s.add(1 + std::uint64_t(write % 5), texts);
    }
    std::vector<std::string> queries;
    for (int i = 0; i < 40; ++i) {
        auto a = word(), b = word();
        queries.insert(queries.end(), {a, a + " OR " + b, "\"" + a + " " + b + "\"~3",
                                       a.substr(0, 3) + "*", a + " AND NOT " + b});
    }
    auto answers = [&] {
        std::vector<std::vector<std::pair<std::uint32_t, double>>> out;
        auto txn = s.env->read();
        for (auto& q : queries) {
            auto hits = s.content->search_records(txn, std::get<query::node>(query::parse(q)), 50);
            BOOST_TEST_REQUIRE(hits.has_value(), q);
            auto& row = out.emplace_back();
            for (auto& h : *hits)
                row.emplace_back(h.number, h.rank);
            auto sessions = all_sessions(*s.content, txn, std::get<query::node>(query::parse(q)));
            BOOST_TEST_REQUIRE(sessions.has_value(), q);
            for (auto& m : *sessions)
                row.emplace_back(std::uint32_t(m.session * 1000000 + m.hits), m.rank);
        }
        return out;
    };
    auto before = answers();
    int steps = 0, grown = 0;
    for (auto size = s.env->map_size(); s.content->merge_step(*s.env, [&] { before_writing(s); });
         size = s.env->map_size()) {
        ++steps;
        if (s.env->map_size() > size) ++grown;
        BOOST_TEST_REQUIRE((answers() == before), "after merge step " << steps);
    }
    s.content.reset();
    s.env.reset();
    s.env = std::make_unique<store::environment>(s.dir);
    s.content = std::make_unique<index::content_index>(*s.env);
    BOOST_TEST((answers() == before));
    return {steps, grown};
}

// The sessions found best first as they come (phrases verified only as far as the visitor
// reads) are those of counting every matching record first, in the same order, and a visitor
// that stops after k gets the first k.
BOOST_AUTO_TEST_CASE(sessions_found_as_they_come_match_those_of_every_record_counted) {
    temp_store s;
    std::mt19937_64 rng(5);
    auto word = [&] { return "v" + std::to_string(rng() % 12); };
    // Sessions written in no order of their ids, so that ties go by id, not by record number.
    std::vector<std::uint64_t> ids(1000);  // a common term holds more than a first batch
    std::iota(ids.begin(), ids.end(), 1u);
    std::shuffle(ids.begin(), ids.end(), rng);
    for (auto session : ids) {
        std::vector<std::string> texts;
        for (int i = 0, n = 1 + int(rng() % 6); i < n; ++i) {
            std::string t;
            for (int j = 0, m = 1 + int(rng() % 6); j < m; ++j)
                t += (j ? " " : "") + word();
            texts.push_back(t);
        }
        s.add(session, texts);
    }
    auto txn = s.env->read();
    for (int round = 0; round < 60; ++round) {
        auto a = word(), b = word();
        for (auto q : {a, a + " OR " + b, "\"" + a + " " + b + "\"", "\"" + a + " " + b + "\"~2",
                       a + " AND NOT " + b, std::string("v1*")}) {
            auto tree = std::get<query::node>(query::parse(q));
            auto counted = all_sessions(*s.content, txn, tree);
            auto as_they_come = all_sessions(*s.content, txn, tree, nullptr, false);
            BOOST_TEST_REQUIRE(counted.has_value());
            BOOST_TEST_REQUIRE(as_they_come.has_value());
            BOOST_TEST_REQUIRE(counted->size() == as_they_come->size(), q);
            for (std::size_t i = 0; i < counted->size(); ++i) {
                BOOST_TEST_REQUIRE((*counted)[i].session == (*as_they_come)[i].session, q);
                BOOST_TEST_REQUIRE((*counted)[i].rank == (*as_they_come)[i].rank, q);
                BOOST_TEST_REQUIRE((*counted)[i].hits > 0u);
            }
            std::size_t k = rng() % (counted->size() + 1);
            std::vector<std::uint64_t> first;
            auto stopped = s.content->search_sessions(txn, tree, nullptr, false, [&](auto& m) {
                first.push_back(m.session);
                return first.size() < k;
            });
            BOOST_TEST_REQUIRE(stopped.has_value());
            // The visitor sees one session at least, when there is one.
            auto want = counted->empty() ? 0 : std::max<std::size_t>(k, 1);
            BOOST_TEST_REQUIRE(first.size() == want, q);
            for (std::size_t i = 0; i < want; ++i)
                BOOST_TEST_REQUIRE(first[i] == (*counted)[i].session, q);
        }
    }
}

BOOST_AUTO_TEST_CASE(merging_segments_changes_no_answer) {
    auto run = merge_and_compare_answers(2500, [](temp_store&) {});
    // One merge of every write, in several steps; then the one segment stays.
    BOOST_TEST(run.steps > 4);
    BOOST_TEST(run.grown == 0);
}

// Fills the map to its last kilobyte, with values in a table of their own committed without
// growing it.
void fill_the_map(store::environment& env, store::table filler) {
    std::string value(env.map_size() / 2, 'f');
    for (std::uint64_t key = 0; value.size() >= 1024;) {
        MDB_txn* txn = nullptr;
        BOOST_REQUIRE(mdb_txn_begin(env.handle(), nullptr, 0, &txn) == 0);
        MDB_val k{sizeof key, &key}, v{value.size(), value.data()};
        int rc = mdb_put(txn, filler, &k, &v, 0);
        if (rc == 0)
            rc = mdb_txn_commit(txn);  // frees the transaction, committed or not
        else
            mdb_txn_abort(txn);
        if (rc == MDB_MAP_FULL) {
            value.resize(value.size() / 2);
        } else {
            BOOST_REQUIRE(rc == 0);
            ++key;
        }
    }
}

// A merge small enough for one step writes all its blocks, erases the sources and ends in that
// step. When its write finds the map full, it runs again whole in the grown map.
BOOST_AUTO_TEST_CASE(a_merge_step_that_finds_the_map_full_runs_again_whole) {
    auto run = merge_and_compare_answers(
        200, [](temp_store& s) { fill_the_map(*s.env, s.env->open_table("filler")); });
    BOOST_TEST(run.steps == 2);  // starting the merge, then the one step
    BOOST_TEST(run.grown == 1);
}

BOOST_AUTO_TEST_CASE(writes_of_one_transaction_share_a_segment) {
    temp_store s;
    auto records = [](std::uint64_t session, std::string text) {
        std::vector<index::content_record> out(1);
        out[0].session = session;
        out[0].type = "command";
        out[0].text = std::move(text);
        return out;
    };
    // As the group writer runs requests: each in a nested transaction, a failure undone alone.
    s.env->write([&](store::transaction& txn) {
        txn.nested([&](auto& t) { s.content->add(t, records(1, "first shared")); });
        BOOST_CHECK_THROW(txn.nested([&](auto& t) {
            s.content->add(t, records(1, "undone shared"));
            throw std::runtime_error("request failed");
        }),
                          std::runtime_error);
        txn.nested([&](auto& t) { s.content->add(t, records(2, "third shared")); });
    });
    s.add(1, {"next shared"});
    auto segments = s.env->open_table("content.segments");
    std::size_t count = 0;
    {
        auto txn = s.env->read();
        auto c = txn.open_cursor(segments);
        for (bool ok = c.first(); ok; ok = c.next())
            ++count;
    }
    BOOST_TEST(count == 2u);
    BOOST_TEST((s.search(1, "shared") == std::vector<std::string>{"first shared", "next shared"}));
    BOOST_TEST((s.search(2, "shared") == std::vector<std::string>{"third shared"}));
    BOOST_TEST(s.search(1, "undone").empty());
}

// Every term of the store's postings, read from the blocks as docs/storage.md lays them out.
std::set<std::string> stored_terms(temp_store& s) {
    std::set<std::string> out;
    auto blocks = s.env->open_table("content.blocks");
    auto txn = s.env->read();
    auto c = txn.open_cursor(blocks);
    for (bool ok = c.first(); ok; ok = c.next()) {
        auto block = c.value();
        auto count = store::read_u32(block);
        std::size_t at = 4 + 4 * std::size_t(count);
        for (std::uint32_t i = 0; i < count; ++i) {
            auto length = std::uint8_t(block[at]);
            out.emplace(block.substr(at + 1, length));
            at = 4 + 4 * std::size_t(count) + store::read_u32(block, 4 + 4 * std::size_t(i));
        }
    }
    return out;
}

// Session 2's content purged while its segments are being merged: between two steps of the
// merge, or (`within_step`) after a step has read and joined the postings, before it writes.
void purge_during_a_merge(bool within_step) {
    temp_store s;
    std::vector<std::vector<std::string>> kept;  // the words of session 1's records
    for (std::uint64_t write = 0; write < index::content_index::merge_width; ++write) {
        std::vector<std::string> texts;
        for (int i = 0; i < 400; ++i) {
            texts.push_back("common t" + std::to_string(write * 1000 + std::uint64_t(i)) + " x" +
                            std::to_string(i % 7));
            if (write % 2 == 0) kept.push_back(index::analyze(texts.back()));
        }
        s.add(1 + write % 2, texts);
    }
    BOOST_TEST(stored_terms(s).contains("t1005"));
    auto purge = [&] {
        s.env->write([&](store::transaction& txn) { s.content->purge_session(txn, 2); });
    };
    BOOST_TEST(s.content->merge_step(*s.env));  // starts the merge
    if (within_step) {
        BOOST_TEST(s.content->merge_step(*s.env, purge));
    } else {
        BOOST_TEST(s.content->merge_step(*s.env));
        purge();
    }
    s.content->merge_all(*s.env);
    // Session 2's terms are gone from the postings, not only from the answers.
    auto terms = stored_terms(s);
    BOOST_TEST(terms.contains("t2005"));
    BOOST_TEST(!terms.contains("t1005"));
    for (auto q : {"common", "x3", "t1005", "t2005", "t1*", "t2* OR x1"}) {
        auto parsed = std::get<query::node>(query::parse(q));
        auto expected = std::count_if(kept.begin(), kept.end(),
                                      [&](auto& words) { return brute(parsed, words); });
        auto txn = s.env->read();
        auto hits = s.content->search_records(txn, parsed, 5000);
        BOOST_TEST_REQUIRE(hits.has_value());
        BOOST_TEST(hits->size() == std::size_t(expected), q);
        for (auto& h : *hits)
            BOOST_TEST(h.record.session == 1u, q);
    }
}

BOOST_AUTO_TEST_CASE(purge_between_two_steps_of_a_merge) {
    purge_during_a_merge(false);
}

BOOST_AUTO_TEST_CASE(purge_between_reading_and_writing_a_merge_step) {
    purge_during_a_merge(true);
}

BOOST_AUTO_TEST_CASE(indexes_a_store_written_before_segments) {
    temp_store s;
    s.content.reset();
    {
        // The earlier layout: records with their token count, postings by term and chunk.
        auto records = s.env->open_table("content.records"),
             by_session = s.env->open_table("content.by_session"),
             postings = s.env->open_table("content.postings");
        s.env->write([&](store::transaction& txn) {
            std::string key(4, '\0'), session(8, '\0');
            session[7] = 9;
            for (char n = 0; n < 3; ++n) {
                key[3] = n;
                txn.put(records, key,
                        R"({"s":9,"c":0,"t":"command","x":"old words )" + std::to_string(n) +
                            R"(","b":0,"e":0,"r":{},"n":3})");
                txn.put(by_session, session + key, {});
            }
            txn.put(postings, std::string("old\0\0\0", 4), "not a bitmap");
        });
    }
    s.content = std::make_unique<index::content_index>(*s.env);
    BOOST_TEST(s.search(9, "old").size() == 3u);
    BOOST_TEST(s.search(9, "\"words 2\"").size() == 1u);
    BOOST_TEST(!s.env->read().open_cursor(s.env->open_table("content.postings")).first());
}

// Records as stores kept them before the binary layout: JSON, each rewritten once when the store
// opens; `interrupted` leaves the first record rewritten and the stat saying where to go on.
void check_json_records_rewritten(bool interrupted) {
    temp_store s;
    s.add(9, {"first words", "second words", "third words"});
    s.content.reset();
    auto records = s.env->open_table("content.records"), stats = s.env->open_table("content.stats");
    s.env->write([&](store::transaction& txn) {
        for (char n = interrupted ? 1 : 0; n < 3; ++n)
            txn.put(records, std::string("\0\0\0", 3) + n,
                    R"({"s":9,"c":-2,"t":"screen","x":")" + std::string(n == 2 ? "third" : "old") +
                        R"( words","b":-5,"e":7,"r":{"begin":3}})");
        if (interrupted) txn.put(stats, "record_upgrade", std::string("\0\0\0\1", 4));
    });
    s.content = std::make_unique<index::content_index>(*s.env);
    auto txn = s.env->read();
    BOOST_TEST(!txn.get(stats, "record_upgrade"));
    auto c = txn.open_cursor(records);
    for (bool ok = c.first(); ok; ok = c.next())
        BOOST_TEST(c.value().front() == '\1');
    std::vector<index::content_record> read;
    s.content->scan_session(txn, 9, [&](std::uint32_t, const index::content_record& r) {
        read.push_back(r);
        return true;
    });
    BOOST_TEST_REQUIRE(read.size() == 3u);
    BOOST_TEST(read[0].text == (interrupted ? "first words" : "old words"));
    auto& third = read[2];
    BOOST_TEST(third.session == 9u);
    BOOST_TEST(third.channel == -2);
    BOOST_TEST(third.type == "screen");
    BOOST_TEST(third.text == "third words");
    BOOST_TEST(third.start == -5);
    BOOST_TEST(third.end == 7);
    BOOST_TEST(boost::json::serialize(third.record_id) == R"({"begin":3})");
    BOOST_TEST(s.search(9, "words").size() == 3u);
}

BOOST_AUTO_TEST_CASE(rewrites_records_written_as_json) {
    check_json_records_rewritten(false);
}

BOOST_AUTO_TEST_CASE(finishes_an_interrupted_rewrite_of_json_records) {
    check_json_records_rewritten(true);
}

BOOST_AUTO_TEST_CASE(indexes_a_store_written_before_blocks) {
    temp_store s;
    s.add(9, {"kept words", "more words"});
    s.content.reset();
    {
        // The earlier layout: one segment's postings by segment and term, not readable now.
        auto terms = s.env->open_table("content.terms"),
             blocks = s.env->open_table("content.blocks");
        s.env->write([&](store::transaction& txn) {
            txn.clear(blocks);
            txn.put(terms, std::string("\0\0\0\0words", 9), "not postings");
        });
    }
    s.content = std::make_unique<index::content_index>(*s.env);
    BOOST_TEST(s.search(9, "words").size() == 2u);
    BOOST_TEST(s.search(9, "kept").size() == 1u);
    BOOST_TEST(!s.env->read().open_cursor(s.env->open_table("content.terms")).first());
    // BM25 statistics are counted once: ranks equal those of a store indexed from the start.
    temp_store fresh;
    fresh.add(9, {"kept words", "more words"});
    auto ranks = [](temp_store& t) {
        auto txn = t.env->read();
        auto hits = t.content->search(txn, std::get<query::node>(query::parse("kept")), 9, 10);
        BOOST_TEST_REQUIRE(hits->size() == 1u);
        return hits->front().rank;
    };
    BOOST_TEST(ranks(s) == ranks(fresh));
}

BOOST_AUTO_TEST_SUITE_END()
