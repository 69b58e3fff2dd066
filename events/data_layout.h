// Facts of a data folder's layout that every opener checks. A node of a
// cluster with S > 1 shards keeps each shard in DATA/shard-<s> (docs/cluster.md,
// "Shards") and no log at DATA/log; a tool given DATA must not create one there.
#pragma once

#include <string>

#include "events/status.h"

namespace accountable {

// kInvalidArgument (field "data") when `data_dir` holds shard folders
// (shard-0, ...) and no log: the caller must be given one shard's folder.
Status refuse_shard_parent(const std::string& data_dir);

}  // namespace accountable
