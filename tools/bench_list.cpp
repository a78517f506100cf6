// scripts/bench-list's driver: filtered session lists of the object API (GET /api/v2/session)
// in process over generated sessions, through the field indexes and by the scan they replace
// (the same filter under `removed:false AND (...)`, which names `removed` and so scans every
// session), checking that both answer alike; prints a Markdown table of medians.
#include "api/domain.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace json = boost::json;
using namespace audex;

namespace {

constexpr micros us_second = 1'000'000, us_day = 86400 * us_second;
constexpr micros year_start = 1'735'689'600 * us_second;  // 2025-01-01T00:00:00Z

// The object API on a data directory, as a server wires it.
struct data_dir {
    store::environment env;
    explicit data_dir(const std::filesystem::path& dir) : env(dir) {}
};
struct domain : data_dir, api::domain {
    explicit domain(const std::filesystem::path& dir)
        : data_dir(dir),
          api::domain(env, {.password_cost = auth::password_cost::minimum(),
                            .node_serial = "AUDEX-BENCH"}) {}
};

// Sessions over a year: ssh and rdp mostly, a tenth rejected or terminated, 200 users, clients in
// 10.0.0.0/16, one in twenty still active.
void load(domain& d, std::size_t count) {
    std::mt19937 rng(7);
    auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    const char* protocols[] = {"ssh", "ssh", "ssh", "ssh", "rdp", "rdp", "vnc", "telnet", "http"};
    const char* statuses[] = {"approved", "approved", "approved", "approved", "approved",
                              "approved", "approved", "approved", "rejected", "terminated"};
    const int ports[] = {22, 3389, 5900, 23, 443};
    std::vector<std::uint64_t> users;
    d.env.write([&](store::transaction& txn) {
        for (int i = 0; i < 200; ++i)
            users.push_back(
                *d.objects.create(txn, *find_model("user"), {{"name", "u" + std::to_string(i)}}));
    });
    for (std::size_t done = 0; done < count;) {
        d.env.write([&](store::transaction& txn) {
            for (std::size_t i = 0; i < 10000 && done < count; ++i, ++done) {
                auto started = year_start + micros(done) * (365 * us_day / micros(count));
                json::object s{{"protocol", protocols[pick(9)]},
                               {"status", statuses[pick(10)]},
                               {"destination_port", ports[pick(5)]},
                               {"source_ip", "10.0." + std::to_string(pick(256)) + "." +
                                                 std::to_string(pick(256))},
                               {"user_id", std::to_string(users[std::size_t(pick(200))])},
                               {"size", pick(1 << 20)},
                               {"started_at", started}};
                if (pick(20)) s["finished_at"] = started + micros(pick(7200)) * us_second;
                auto at = d.partitions.for_new(txn, started);
                if (!at.sessions().create(at.txn, *find_model("session"), std::move(s)))
                    throw std::runtime_error("create failed");
            }
        });
    }
}

// The answer's bytes and the seconds it took.
std::pair<std::string, double> list(domain& d, const std::string& filter,
                                    const std::string& order) {
    api::call c;
    c.path = {"session"};
    c.params = {{"filter", filter}, {"limit", "100"}};
    if (!order.empty()) c.params.emplace_back("order", order);
    auth::principal admin{1, "admin", auth::role::admin, {}};
    auto begin = std::chrono::steady_clock::now();
    auto txn = d.env.read();
    auto out = d.api.execute(txn, admin, c);
    return {std::move(out),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count()};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t count = argc > 1 ? std::stoul(argv[1]) : 100000;
    int rounds = argc > 2 ? std::stoi(argv[2]) : 5;
    std::string pattern = (std::filesystem::temp_directory_path() / "audex-bench-list-XXXXXX");
    if (!::mkdtemp(pattern.data())) return 1;
    int rc = 0;
    {
        domain d(pattern);
        auto began = std::chrono::steady_clock::now();
        load(d, count);
        std::printf(
            "%zu sessions loaded in %.1f s; limit=100, medians of %d interleaved rounds\n\n", count,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(),
            rounds);
        struct query {
            std::string filter, order;
        };
        const std::vector<query> queries{
            {"protocol:rdp", ""},
            {"protocol:telnet AND status:rejected", ""},
            {"status:terminated AND destination_port:[3000 TO 6000]", ""},
            {"source_ip:[10.0.7.0 TO 10.0.7.255] AND NOT status:approved", ""},
            {"started_at:[2025-03-01 TO 2025-03-07]", ""},
            {"protocol:vnc", "-started_at"},
            {"protocol:telnet AND status:rejected", "-started_at"},
            {"protocol:vnc AND user_name:u7", ""},
        };
        std::printf("| filter | order | listed | indexed ms | scan ms | speed-up |\n");
        std::printf("|---|---|---:|---:|---:|---:|\n");
        for (auto& q : queries) {
            std::vector<double> indexed, scanned;
            std::size_t listed = 0;
            for (int r = 0; r < rounds; ++r) {
                auto [a, ta] = list(d, q.filter, q.order);
                auto [b, tb] = list(d, "removed:false AND (" + q.filter + ")", q.order);
                if (a != b) {
                    std::fprintf(stderr, "bench-list: the answers differ for %s\n",
                                 q.filter.c_str());
                    rc = 1;
                }
                listed = json::parse(a).at("session").as_array().size();
                indexed.push_back(ta * 1000);
                scanned.push_back(tb * 1000);
            }
            std::printf("| `%s` | %s | %zu | %.2f | %.2f | %.0fx |\n", q.filter.c_str(),
                        q.order.empty() ? "id" : q.order.c_str(), listed, median(indexed),
                        median(scanned), median(scanned) / median(indexed));
        }
    }
    std::filesystem::remove_all(pattern);
    return rc;
}
