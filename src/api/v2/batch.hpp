// POST /api/v2/batch: several object API calls in one write transaction, with references from
// later requests to the answers of earlier ones.
#pragma once

#include "api/v2/object_api.hpp"

namespace audex::api {

// What one batch may ask for (docs/configuration.md).
struct batch_limits {
    std::size_t max_requests = 1000;
    std::size_t max_answer_bytes = 16 << 20;  // of all its responses together
};

// Runs a batch body {"atomic", "variables", "requests": [{id, method, endpoint, params, data,
// atomic}]}. A batch of GETs runs in one read transaction, so that it never holds the writer;
// otherwise every request runs in a nested write transaction: a failing request is reported in
// its response and undone, and when the batch or that request is atomic the whole batch is rolled
// back and the failure thrown (details.request names the request). Past a limit the whole batch
// is refused (InvalidArgument on "requests") and nothing it wrote is kept.
boost::json::object run_batch(object_api& api, store::environment& env, const auth::principal& who,
                              const boost::json::value& body, const batch_limits& limits = {});

}  // namespace audex::api
