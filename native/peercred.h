// The credentials of the process at the other end of a connected Unix
// socket, as the kernel recorded them (not as the peer claims them).
// Same Status convention as shm.h.
#pragma once

#include "shm.h"

namespace shmnet {

// Linux: getsockopt(SO_PEERCRED). macOS: getpeereid, and LOCAL_PEERPID for
// the pid (-1 where unavailable). Elsewhere ENOSYS.
Status PeerCred(int sock, int* pid, int* uid, int* gid);

}  // namespace shmnet
