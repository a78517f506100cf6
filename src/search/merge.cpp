// The merge of partitions' answers (see merge.hpp).
#include "search/merge.hpp"

#include <algorithm>
#include <iterator>

namespace audex::search {

bool better(const index::session_match& a, const index::session_match& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.session < b.session);
}

bool top_sessions::wants(const index::session_match& m) const {
    return heap_.size() < limit_ || better(m, heap_.front());
}

void top_sessions::add(const index::session_match& m) {
    if (limit_ == 0) return;
    if (heap_.size() == limit_) {
        std::pop_heap(heap_.begin(), heap_.end(), better);
        heap_.pop_back();
    }
    heap_.push_back(m);
    std::push_heap(heap_.begin(), heap_.end(), better);
}

std::vector<index::session_match> top_sessions::take() && {
    std::sort_heap(heap_.begin(), heap_.end(), better);
    return std::move(heap_);
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
