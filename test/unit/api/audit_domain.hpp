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

    // Stores an object as the object API does: a session in the partition of its start, any
    // other in the catalog.
    result<std::uint64_t> put_object(store::transaction& txn, const model& m, json::object o) {
        if (m.name != "session") return objects.create(txn, m, std::move(o));
        auto at = partitions.for_new(txn, o.at("started_at").to_number<micros>());
        return at.sessions().create(at.txn, m, std::move(o));
    }
    std::optional<json::object> object(const store::transaction& txn, const model& m,
                                       std::uint64_t id) {
        if (m.name != "session") return objects.get(txn, m, id);
        return partitions.get(txn, id);
    }
    result<void> change_object(store::transaction& txn, const model& m, std::uint64_t id,
                               json::object after) {
        auto before = object(txn, m, id);
        BOOST_TEST_REQUIRE(before.has_value());
        if (m.name != "session") return objects.replace(txn, m, id, *before, std::move(after));
        auto at = partitions.locate(txn, id);
        return at->sessions().replace(at->txn, m, id, *before, std::move(after));
    }

    // Stores content records in their sessions' partitions, one transaction each.
    void add_content(const std::vector<index::content_record>& records) {
        std::map<std::string,
                 std::pair<search::partitioned_store::handle, std::vector<index::content_record>>>
            by_partition;
        {
            auto txn = env.read();
            for (auto& r : records) {
                auto at = partitions.locate(txn, r.session);
                BOOST_TEST_REQUIRE(at.has_value());
                auto& part = by_partition[at->partition->name];
                part.first = at->partition;
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
        auto found = partitions.search_sessions(
            env.read(), q, among, true, [](const std::string&) { return true; }, SIZE_MAX,
            [](auto&) { return true; });
        BOOST_TEST_REQUIRE(found.has_value());
        return *found;
    }
};

}  // namespace audex::api::test
