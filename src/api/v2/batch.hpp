// POST /api/v2/batch: several object API calls in one write transaction, with references from
// later requests to the answers of earlier ones.
#pragma once

#include "api/v2/object_api.hpp"

#include <set>
#include <string>

namespace audex::api {

// What one batch may ask for (docs/configuration.md).
struct batch_limits {
    std::size_t max_requests = 1000;
    std::size_t max_answer_bytes = 16 << 20;  // of all its responses together
};

// A batch body {"atomic", "variables", "requests": [{id, method, endpoint, params, data,
// atomic}]}, checked: InvalidArgument for a body of another shape and for more requests than the
// limit.
class batch_request {
  public:
    explicit batch_request(boost::json::value body, batch_limits limits = {});

    // Whether a request may write (a placeholder method may): then run() needs a write
    // transaction; a batch of GETs runs in a read transaction and never holds the writer.
    bool writes() const { return writes_; }

    // Runs the requests in `txn`. In a write transaction every request runs in a nested one: a
    // failing request is reported in its response and undone, and when the batch or that request
    // is atomic the whole batch fails with its error (details.request names the request). Past
    // the answer limit the whole batch fails (InvalidArgument on "requests"). It may run again
    // in another transaction: it changes nothing of its own.
    boost::json::object run(object_api& api, store::transaction& txn,
                            const auth::principal& who) const;

  private:
    boost::json::value body_;
    batch_limits limits_;
    bool atomic_ = false, writes_ = false;
    std::set<std::string, std::less<>> referenced_;  // the request ids that placeholders name
};

}  // namespace audex::api
