// The merge of partitions' answers into the answer of the whole store. It knows nothing of where a
// partition lives: each partition offers its best first, in the same total order that the merge
// keeps, so that the merged answer is the one a single store holding every partition would give.
#pragma once

#include "index/content_index.hpp"

#include <cstddef>
#include <vector>

namespace audex::search {

// The order of sessions found through their content: best rank first, then the smaller id.
bool better(const index::session_match& a, const index::session_match& b);

// The `limit` best sessions that the partitions offer (each partition best first, in the order of
// better(); a session in one partition only). A partition stops offering once wants() is false:
// none of its later sessions can enter, and the filter of the sessions (which may read them) runs
// only for those that still can.
class top_sessions {
  public:
    explicit top_sessions(std::size_t limit) : limit_(limit) {}
    // Whether `m` would enter the best kept so far.
    bool wants(const index::session_match& m) const;
    void add(const index::session_match& m);
    // The best, in the order of better().
    std::vector<index::session_match> take() &&;

  private:
    std::size_t limit_;
    std::vector<index::session_match> heap_;  // the worst kept on top
};

// The `limit` best ranked of the partitions' records (each partition's list best first, the
// partitions in the order of their months); equal ranks in the partitions' order, then each
// partition's own.
std::vector<index::content_hit> merge_records(std::vector<std::vector<index::content_hit>> parts,
                                              std::size_t limit);

}  // namespace audex::search
