// The deadline of the request whose work runs on this thread. The work that can grow with the
// store or with a request (scans, filters, sorts, term expansion, ranking) calls check_deadline()
// for each item it looks at, so that a request that runs too long stops and is answered 503
// instead of holding its thread for as long as it takes.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace audex {

struct deadline_exceeded : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using deadline_clock = std::chrono::steady_clock;

namespace detail {
inline thread_local deadline_clock::time_point thread_deadline = deadline_clock::time_point::max();
inline thread_local std::uint32_t deadline_calls = 0;
[[noreturn]] void throw_deadline_exceeded();
}  // namespace detail

// Sets this thread's deadline while it lives; throws deadline_exceeded when it has passed already
// (a request that waited for a worker too long).
class deadline_scope {
  public:
    explicit deadline_scope(deadline_clock::time_point at);
    ~deadline_scope();
    deadline_scope(const deadline_scope&) = delete;
    deadline_scope& operator=(const deadline_scope&) = delete;

  private:
    deadline_clock::time_point previous_;
};

// Throws deadline_exceeded once this thread's deadline has passed; a no-op without one. Cheap
// enough for every item of a loop: it reads the clock once every 256 calls.
inline void check_deadline() {
    if (detail::thread_deadline == deadline_clock::time_point::max()) return;
    if (++detail::deadline_calls % 256) return;
    if (deadline_clock::now() > detail::thread_deadline) detail::throw_deadline_exceeded();
}

}  // namespace audex
