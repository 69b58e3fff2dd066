#include "aggregates/dispatch.h"

#include <type_traits>

namespace accountable {

StateKeys state_keys(const Command& command) {
  return std::visit(
      [](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        StateKeys k;
        if constexpr (requires { c.partner_id; }) k.partner = c.partner_id;
        if constexpr (requires { c.user_id; }) k.user = c.user_id;
        if constexpr (requires { c.region; }) k.region = c.region;
        k.catalog = std::is_same_v<T, PinOffer> || std::is_same_v<T, CreateBusinessProfile> ||
                    std::is_same_v<T, UpdateBusinessProfile> || std::is_same_v<T, PublishOffer> ||
                    std::is_same_v<T, UpdateOffer> || std::is_same_v<T, RetireOffer> ||
                    std::is_same_v<T, PublishPriceList>;
        return k;
      },
      command);
}

Result<Decision> decide(const Command& command, const DecideInputs& in, const CommandContext& ctx) {
  return std::visit(
      [&](const auto& c) -> Result<Decision> {
        if constexpr (requires { decide(in.catalog, c, ctx); }) {
          return decide(in.catalog, c, ctx);
        } else if constexpr (requires { decide(in.partner, c, ctx); }) {
          return decide(in.partner, c, ctx);
        } else if constexpr (requires { decide(in.partner, in.catalog, c, ctx); }) {
          return decide(in.partner, in.catalog, c, ctx);
        } else if constexpr (requires { decide(in.partner, in.user, c, ctx); }) {
          return decide(in.partner, in.user, c, ctx);
        } else if constexpr (requires { decide(in.partner, in.profile, in.catalog, c, ctx); }) {
          return decide(in.partner, in.profile, in.catalog, c, ctx);
        } else {
          static_assert(requires { decide(in.partner, in.profile, c, ctx); }, "a command has no decide()");
          return decide(in.partner, in.profile, c, ctx);
        }
      },
      command);
}

}  // namespace accountable
