// The scenario of an audex-load run: where and how hard to send, what data to prepare, and the mix
// of requests with their weights, read from a JSON file (docs/load.md describes the format).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace audex::load {

// What one entry of the mix sends (docs/load.md lists the paths).
enum class request_kind { login, search, content_search, stats, histogram, get, list, ingest };

std::string_view kind_name(request_kind kind);

struct mix_entry {
    std::string name;  // the label of its figures in the report; the kind's name by default
    request_kind kind{};
    double weight = 1;
    // The query parameters sent, in order (values as given; numbers written as in the file).
    std::vector<std::pair<std::string, std::string>> params;
    unsigned records = 10;  // ingest: content records per request
};

struct scenario {
    std::string url = "https://127.0.0.1:8443";
    std::string username, password, token;
    unsigned connections = 8;
    double duration = 10;  // seconds of sending
    double rate = 0;       // requests a second over all connections; 0: as fast as answered
    double timeout = 30;   // seconds a request may take before it counts as an error
    double interval = 0;   // seconds per interval of the report's time series; 0: none
    // Data made before the run: `sessions` new sessions with `records` content records each.
    unsigned prepare_sessions = 0, prepare_records = 0;
    std::vector<std::string> session_ids;  // existing sessions to use (else listed from the server)
    std::vector<mix_entry> mix;

    // The entry that a uniform draw u in [0, 1) selects, in proportion to the weights.
    std::size_t pick(double u) const;
};

// A scenario file that cannot be used: the message names the member at fault.
struct scenario_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

scenario parse_scenario(std::string_view json_text);

}  // namespace audex::load
