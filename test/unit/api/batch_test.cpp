// Tests of api::batch_request (api/v2/batch.hpp): which batches write, and that a batch of reads
// runs in a read transaction while the LMDB writer is held (the server runs it in one: app::batch).
#include "api/v2/batch.hpp"
#include "audit_domain.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>

using namespace audex;
using namespace std::chrono_literals;

namespace {

// Holds the store's write transaction on a thread of its own until release() is called.
struct held_writer {
    std::promise<void> held, released;
    std::future<void> done;
    explicit held_writer(store::environment& env) {
        done = std::async(std::launch::async, [this, &env] {
            env.write([&](store::transaction&) {
                held.set_value();
                released.get_future().wait();
            });
        });
        held.get_future().wait();
    }
    ~held_writer() { release(); }
    void release() {
        if (done.valid()) {
            released.set_value();
            done.get();
        }
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(api_batch)

BOOST_AUTO_TEST_CASE(a_batch_of_reads_runs_while_the_writer_is_held) {
    api::test::audit_domain d;
    auth::principal admin{1, "admin", auth::role::admin, {}};
    api::batch_request reads(boost::json::parse(R"({"requests": [
        {"method": "GET", "endpoint": "/session"},
        {"endpoint": "/objspec/session"},
        {"method": "get", "endpoint": "/session?limit=1"}]})"));
    api::batch_request writes(boost::json::parse(R"({"requests": [
        {"method": "GET", "endpoint": "/session"},
        {"method": "POST", "endpoint": "/session",
         "data": {"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"}}]})"));
    api::batch_request placeholder(boost::json::parse(R"({"variables": {"m": "DELETE"},
        "requests": [{"method": "{m}", "endpoint": "/session/1"}]})"));
    BOOST_TEST(!reads.writes());
    BOOST_TEST(writes.writes());
    BOOST_TEST(placeholder.writes());

    std::future<boost::json::object> read;
    held_writer writer{d.env};
    read = std::async(std::launch::async, [&] {
        auto txn = d.env.read();
        return reads.run(d.api, txn, admin);
    });
    BOOST_TEST_REQUIRE((read.wait_for(10s) == std::future_status::ready));
    auto answer = read.get();
    BOOST_TEST(answer.at("responses").as_array().size() == 3u);
    for (auto& r : answer.at("responses").as_array())
        BOOST_TEST(r.at("result").as_string() == "success");
    writer.release();
    auto written =
        d.env.write([&](store::transaction& txn) { return writes.run(d.api, txn, admin); });
    BOOST_TEST(written.at("responses").as_array()[1].at("result").as_string() == "success");
}

BOOST_AUTO_TEST_SUITE_END()
