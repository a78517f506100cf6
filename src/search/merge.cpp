// The merge of partitions' answers (see merge.hpp).
#include "search/merge.hpp"

#include <algorithm>
#include <iterator>

namespace audex::search {

bool better(const index::session_match& a, const index::session_match& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.session < b.session);
}

std::vector<index::session_match> merge_sessions(
    std::vector<std::vector<index::session_match>> parts, std::size_t limit) {
    std::vector<index::session_match> out;
    for (auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    auto keep = std::min(limit, out.size());
    std::partial_sort(out.begin(), out.begin() + std::ptrdiff_t(keep), out.end(), better);
    out.resize(keep);
    return out;
}

std::vector<index::content_hit> merge_records(std::vector<std::vector<index::content_hit>> parts,
                                              std::size_t limit) {
    std::vector<index::content_hit> out;
    for (auto& p : parts)
        std::move(p.begin(), p.end(), std::back_inserter(out));
    // Stable: equal ranks keep the partitions' order and each partition's.
    std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.rank > b.rank; });
    if (out.size() > limit) out.resize(limit);
    return out;
}

}  // namespace audex::search
