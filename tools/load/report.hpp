// What an audex-load run measured: per request kind and overall, the requests, the errors by
// status and type, and the latency histogram; optionally a time series in fixed intervals. Renders
// the JSON report and the human table.
#pragma once

#include "load/histogram.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace audex::load {

class recorder {
  public:
    // `kinds`: the labels of the request kinds, indexed as record() is given them.
    // `interval`: seconds per interval of the time series; 0 for none.
    recorder(std::vector<std::string> kinds, double interval);

    // One exchange that got an answer, `at` seconds after the start of the run. `error_type` is
    // empty for a success; otherwise the answer's error type (or "HTTP <status>" without one).
    void answered(std::size_t kind, unsigned status, const std::string& error_type,
                  std::uint64_t latency_us, double at);
    // One exchange that got no answer: `what` says which step failed (connect, tls, write, read,
    // timeout).
    void failed(std::size_t kind, const std::string& what, double at);

    struct run_info {
        std::string url;
        unsigned connections = 0;
        double target_rate = 0;  // 0: full speed
        double duration = 0;     // planned seconds of sending
        double elapsed = 0;      // seconds from the start until the last answer
    };

    std::uint64_t requests() const { return overall_.requests; }
    std::uint64_t errors() const { return overall_.errors; }

    boost::json::object to_json(const run_info& info) const;
    std::string table(const run_info& info) const;

  private:
    struct tally {
        std::uint64_t requests = 0, errors = 0;
        histogram latency;  // microseconds, of the exchanges that were answered
    };
    void count(std::size_t kind, bool error, double at, const std::uint64_t* latency_us);

    std::vector<std::string> names_;
    std::vector<tally> kinds_;
    tally overall_;
    double interval_;
    std::vector<tally> intervals_;
    std::map<std::string, std::uint64_t> by_status_, by_type_;
};

}  // namespace audex::load
