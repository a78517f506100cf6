// Every session a content query matches, collected from content_index::search_sessions().
#pragma once

#include "index/content_index.hpp"

#include <cstdint>
#include <vector>

namespace audex::index::test {

inline result<std::vector<session_match>> all_sessions(
    const content_index& content, const store::transaction& txn, const query::node& q,
    const std::vector<std::uint64_t>* among = nullptr, bool count_hits = true) {
    std::vector<session_match> out;
    auto searched = content.search_sessions(txn, q, among, count_hits, [&](const session_match& m) {
        out.push_back(m);
        return true;
    });
    if (!searched) return searched.error();
    return out;
}

}  // namespace audex::index::test
