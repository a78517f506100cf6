// The merge of partitions' answers into the answer of the whole store. It knows nothing of where a
// partition lives: each partition answers with its own best, cut by the same total order that the
// merge applies, so that the merged answer is the one a single store holding every partition
// would give.
#pragma once

#include "index/content_index.hpp"

#include <cstddef>
#include <vector>

namespace audex::search {

// The order of sessions found through their content: best rank first, then the smaller id.
bool better(const index::session_match& a, const index::session_match& b);

// The `limit` best of the partitions' sessions (each partition's list in the order of better(),
// a session in one partition only), in that order.
std::vector<index::session_match> merge_sessions(
    std::vector<std::vector<index::session_match>> parts, std::size_t limit);

// The `limit` best ranked of the partitions' records (each partition's list best first, the
// partitions in the order of their months); equal ranks in the partitions' order, then each
// partition's own.
std::vector<index::content_hit> merge_records(std::vector<std::vector<index::content_hit>> parts,
                                              std::size_t limit);

}  // namespace audex::search
