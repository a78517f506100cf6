// A clock the auth tests move by hand, starting far from the steady clock's epoch like a real
// uptime.
#pragma once

#include "auth/clock.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace audex::auth::test {

struct fake_clock {
    std::atomic<std::int64_t> ns{std::chrono::nanoseconds(std::chrono::hours(1000)).count()};
    void advance(std::chrono::nanoseconds d) { ns += d.count(); }
    clock_fn fn() {
        return [this] { return steady_time(std::chrono::nanoseconds(ns.load())); };
    }
};

}  // namespace audex::auth::test
