#include "events/data_layout.h"

#include <filesystem>

#include "events/env.h"

namespace accountable {

Status refuse_shard_parent(const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(join_path(data_dir, "log"), ec) &&
      std::filesystem::is_directory(join_path(data_dir, "shard-0"), ec)) {
    return invalid_argument(data_dir + " holds the shard folders of a cluster node with S > 1 shards, not a log: "
                                "name one shard, " + join_path(data_dir, "shard-<s>") + " (docs/cluster.md)",
                            "data");
  }
  return Status::ok();
}

}  // namespace accountable
