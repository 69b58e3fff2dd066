// Which listen addresses only this machine can reach. `acct serve` serves
// plain HTTP off loopback only with --plain-http (docs/http-api.md, "TLS").
#pragma once

#include <string>

namespace accountable {

// 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6 (::ffff:127.x.y.z).
// False for anything else, the wildcards 0.0.0.0 and :: included, and for a
// string that is not an IP address.
bool is_loopback_address(const std::string& address);

}  // namespace accountable
