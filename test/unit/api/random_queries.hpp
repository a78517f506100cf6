// Shared by the randomised session tests: seeded random picks, and query text that combines a
// test's own leaves under AND, OR, AND NOT and NOT.
#pragma once

#include <random>
#include <string>
#include <vector>

namespace audex::api::test {

struct random_queries {
    std::mt19937 rng;

    explicit random_queries(unsigned seed) : rng(seed) {}

    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
    template <class T>
    const T& pick(const std::vector<T>& v) {
        return v[std::size_t(pick(int(v.size())))];
    }

    // At most `depth` levels of booleans over leaf().
    template <class Leaf>
    std::string random_query(int depth, Leaf&& leaf) {
        if (depth == 0 || pick(3) == 0) return leaf();
        auto a = random_query(depth - 1, leaf), b = random_query(depth - 1, leaf);
        switch (pick(4)) {
            case 0:
                return "(" + a + ") AND (" + b + ")";
            case 1:
                return "(" + a + ") OR (" + b + ")";
            case 2:
                return "(" + a + ") AND NOT (" + b + ")";
            default:
                return "NOT (" + a + ")";
        }
    }
};

}  // namespace audex::api::test
