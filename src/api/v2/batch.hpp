// POST /api/v2/batch: several object API calls in one write transaction, with references from
// later requests to the answers of earlier ones.
#pragma once

#include "api/v2/object_api.hpp"

namespace audex::api {

// Runs a batch body {"atomic", "variables", "requests": [{id, method, endpoint, params, data,
// atomic}]}. Every request runs in a nested transaction; a failing request is reported in its
// response and undone, and when the batch or that request is atomic the whole batch is rolled back
// and the failure thrown (details.request names the request).
boost::json::object run_batch(object_api& api, store::environment& env, const auth::principal& who,
                              const boost::json::value& body);

}  // namespace audex::api
