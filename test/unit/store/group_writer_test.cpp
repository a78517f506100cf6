// Tests of store/group_writer.hpp: concurrent jobs share commits, a failing job is undone alone,
// jobs are retried whole when the map grows, and a full store fails the group.
#include "store/group_writer.hpp"

#include "temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <future>
#include <stdexcept>
#include <string>
#include <vector>

using namespace audex::store;
using audex::store::test::temp_dir;

namespace {

// Submits a job and returns a future of its outcome.
std::future<void> submit(group_writer& w, group_writer::job j) {
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    w.submit(std::move(j),
             [done](std::exception_ptr e) { e ? done->set_exception(e) : done->set_value(); });
    return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(group_writer_tests)

BOOST_AUTO_TEST_CASE(concurrent_jobs_share_commits_and_a_failure_stays_alone) {
    temp_dir dir;
    environment env(dir.path);
    auto t = env.open_table("t");
    group_writer writer(env);
    std::vector<std::future<void>> outcomes;
    // The first job holds the writer while the others queue up behind it.
    std::promise<void> release;
    auto gate = release.get_future().share();
    outcomes.push_back(submit(writer, [&, gate](transaction& txn) {
        gate.wait();
        txn.put(t, "k0", "v");
    }));
    for (int i = 1; i < 100; ++i)
        outcomes.push_back(submit(writer, [&, i](transaction& txn) {
            txn.put(t, "k" + std::to_string(i), "v");
            if (i % 10 == 0) throw std::invalid_argument("job " + std::to_string(i));
        }));
    release.set_value();
    for (int i = 0; i < 100; ++i) {
        if (i % 10 == 0 && i > 0)
            BOOST_CHECK_THROW(outcomes[i].get(), std::invalid_argument);
        else
            BOOST_CHECK_NO_THROW(outcomes[i].get());
    }
    // At most: the gated job's group, then the rest in groups of up to 256.
    BOOST_TEST(writer.commits() <= 2u);
    auto txn = env.read();
    for (int i = 0; i < 100; ++i)
        BOOST_TEST(txn.get(t, "k" + std::to_string(i)).has_value() == (i == 0 || i % 10 != 0));
}

BOOST_AUTO_TEST_CASE(jobs_rerun_when_the_map_grows_and_fail_together_when_the_store_is_full) {
    temp_dir dir;
    environment_options small;
    small.initial_map_size = 1 << 20;
    small.max_map_size = 4 << 20;
    environment env(dir.path, small);
    auto t = env.open_table("t");
    group_writer writer(env);
    std::string kib(1024, 'x');
    // About 2 MiB: more than the first map, less than the maximum.
    submit(writer, [&](transaction& txn) {
        for (int i = 0; i < 2000; ++i)
            txn.put(t, "a" + std::to_string(i), kib);
    }).get();
    BOOST_TEST(env.read().get(t, "a1999").has_value());
    // Past the maximum: the job and its group-mate fail, and neither leaves anything behind.
    auto big = submit(writer, [&](transaction& txn) {
        for (int i = 0; i < 8000; ++i)
            txn.put(t, "b" + std::to_string(i), kib);
    });
    auto small_one = submit(writer, [&](transaction& txn) { txn.put(t, "c", "v"); });
    BOOST_CHECK_THROW(big.get(), store_full);
    try {
        small_one.get();  // it may have committed in a group of its own
    } catch (const store_full&) {
        BOOST_TEST(!env.read().get(t, "c").has_value());
    }
    BOOST_TEST(!env.read().get(t, "b0").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
