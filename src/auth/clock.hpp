// The clock of the time-based auth tables, a function so that tests can move time by hand.
#pragma once

#include <chrono>
#include <functional>

namespace audex::auth {

// Steady, so that a wall-clock change neither ends nor prolongs login sessions and lockouts.
using steady_time = std::chrono::steady_clock::time_point;
using clock_fn = std::function<steady_time()>;

inline steady_time steady_now() {
    return std::chrono::steady_clock::now();
}

}  // namespace audex::auth
