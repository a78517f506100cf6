// Tests of activity/activity_log.hpp's listing: random entries (times out of step with their
// numbers, as queued reads are) and random filters and pages against a brute-force oracle; and a
// store without the time index gets one when it opens.
#include "activity/activity_log.hpp"

#include "../store/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <tuple>

using namespace audex;
using audex::store::test::temp_dir;

namespace {

const std::vector<std::string> users = {"ann", "bob", "cid"};

std::vector<activity::entry> random_entries(std::mt19937_64& random, std::size_t n) {
    std::vector<activity::entry> out;
    for (std::size_t i = 0; i < n; ++i) {
        activity::entry e;
        e.time = micros(1000 * i) + micros(random() % 5000);  // up to 5 entries out of step
        e.user = users[random() % users.size()];
        e.user_id = 1;
        e.client = "127.0.0.1";
        e.method = "GET";
        e.target = "/api/v2/session/" + std::to_string(i);
        e.status = 200;
        e.action = std::string(activity::actions[random() % 3]);
        out.push_back(std::move(e));
    }
    return out;
}

// The targets of what `f` selects among `all` (numbered from 1), by time then number, paged.
std::pair<std::vector<std::string>, std::size_t> oracle(const std::vector<activity::entry>& all,
                                                        const activity::filter& f,
                                                        std::size_t limit, std::size_t offset) {
    std::vector<std::pair<micros, std::size_t>> kept;
    for (std::size_t i = 0; i < all.size(); ++i) {
        auto& e = all[i];
        if ((f.user && e.user != *f.user) || (f.action && e.action != *f.action) ||
            (f.start && e.time < *f.start) || (f.end && e.time > *f.end))
            continue;
        kept.emplace_back(e.time, i);
    }
    std::sort(kept.begin(), kept.end());
    std::vector<std::string> page;
    for (std::size_t i = offset; i < kept.size() && page.size() < limit; ++i)
        page.push_back(all[kept[i].second].target);
    return {page, kept.size()};
}

std::pair<std::vector<std::string>, std::size_t> listed(store::environment& env,
                                                        const activity::activity_log& log,
                                                        const activity::filter& f,
                                                        std::size_t limit, std::size_t offset) {
    auto txn = env.read();
    auto [items, total] = log.list(txn, f, limit, offset);
    std::vector<std::string> page;
    for (auto& item : items)
        page.emplace_back(item.at("target").as_string());
    return {page, total};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(activity_listing)

BOOST_AUTO_TEST_CASE(listings_match_a_brute_force_oracle) {
    temp_dir dir;
    store::environment env(dir.path);
    activity::activity_log log(env, std::chrono::milliseconds(1000));
    std::mt19937_64 random(7);
    auto all = random_entries(random, 3000);
    for (std::size_t from = 0; from < all.size(); from += 500)
        env.write(
            [&](store::transaction& txn) { log.append(txn, std::span(all).subspan(from, 500)); });
    for (int round = 0; round < 300; ++round) {
        activity::filter f;
        if (random() % 2) f.user = users[random() % users.size()];
        if (random() % 3 == 0) f.action = std::string(activity::actions[random() % 4]);
        if (random() % 2) f.start = micros(random() % 3'200'000) - 100'000;
        if (random() % 2) f.end = micros(random() % 3'200'000) - 100'000;
        std::size_t limit = 1 + random() % 300, offset = random() % 4 ? random() % 400 : 0;
        auto want = oracle(all, f, limit, offset);
        auto got = listed(env, log, f, limit, offset);
        BOOST_TEST_REQUIRE(got.second == want.second, "round " << round);
        BOOST_TEST_REQUIRE(got.first == want.first, "round " << round);
    }
}

BOOST_AUTO_TEST_CASE(a_log_without_the_time_index_gets_it_when_opened) {
    temp_dir dir;
    std::mt19937_64 random(11);
    auto all = random_entries(random, 200);
    {
        store::environment env(dir.path);
        activity::activity_log log(env, std::chrono::milliseconds(1000));
        env.write([&](store::transaction& txn) { log.append(txn, all); });
    }
    {
        // As a store written before the index holds it.
        store::environment env(dir.path);
        auto index = env.open_table("activity.by_time");
        env.write([&](store::transaction& txn) { txn.clear(index); });
    }
    store::environment env(dir.path);
    activity::activity_log log(env, std::chrono::milliseconds(1000));
    activity::filter f;
    f.start = 50'000;
    BOOST_TEST((listed(env, log, f, 500, 0) == oracle(all, f, 500, 0)));
    BOOST_TEST(listed(env, log, {}, 500, 0).second == 200u);
}

BOOST_AUTO_TEST_SUITE_END()
