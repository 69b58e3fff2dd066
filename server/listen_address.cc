#include "server/listen_address.h"

#include <boost/asio/ip/address.hpp>

namespace accountable {

bool is_loopback_address(const std::string& address) {
  namespace ip = boost::asio::ip;
  boost::system::error_code ec;
  const ip::address a = ip::make_address(address, ec);
  if (ec) return false;
  if (a.is_v4()) return (a.to_v4().to_uint() >> 24) == 127;
  const ip::address_v6 v6 = a.to_v6();
  if (v6.is_v4_mapped()) return (ip::make_address_v4(ip::v4_mapped, v6).to_uint() >> 24) == 127;
  return v6.is_loopback();
}

}  // namespace accountable
