// Shared by the audit search tests: the domain objects the server wires together (store, users,
// content, policies, the object API and the session search) on a fresh temporary data directory.
#pragma once

#include "../store/temp_dir.hpp"
#include "api/domain.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

namespace audex::api::test {

struct test_data_dir {
    store::test::temp_dir dir;
    store::environment env{dir.path};
};
struct audit_domain : test_data_dir, domain {
    audit_domain()
        : domain(env,
                 {.password_cost = auth::password_cost::minimum(), .node_serial = "AUDEX-TEST"}) {}

    // Stores content records in their sessions' partitions, one transaction each.
    void add_content(const std::vector<index::content_record>& records) {
        std::map<std::string,
                 std::pair<search::content_store::handle, std::vector<index::content_record>>>
            by_partition;
        {
            auto txn = env.read();
            for (auto& r : records) {
                auto session = objects.get(txn, *find_model("session"), r.session);
                BOOST_TEST_REQUIRE(session.has_value());
                auto p = content.for_writing(*session);
                auto& part = by_partition[p->name];
                part.first = p;
                part.second.push_back(r);
            }
        }
        for (auto& [name, part] : by_partition)
            part.first->env.write([&](store::transaction& txn) {
                part.first->contents.content.add(txn, part.second);
            });
    }

    // Every session whose content matches `q`, with its hits, best first.
    std::vector<index::session_match> all_sessions(
        const query::node& q, const std::vector<std::uint64_t>* among = nullptr) {
        auto found = content.search_sessions(q, among, true, std::nullopt, SIZE_MAX,
                                             [](auto&) { return true; });
        BOOST_TEST_REQUIRE(found.has_value());
        return *found;
    }
};

}  // namespace audex::api::test
