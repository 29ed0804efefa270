// POSIX (Linux, macOS) implementation of shm.h.
//
// Linux-only calls (posix_fallocate, MAP_POPULATE, MAP_HUGETLB,
// MADV_POPULATE_READ, MADV_HUGEPAGE, SHM_HUGETLB) sit behind #ifdef on the
// constant itself, so macOS takes the portable branch by construction:
// MADV_WILLNEED for populate, no huge pages, and shm_open's mode as umask
// leaves it (XNU has no fchmod for POSIX shm: it fails with EINVAL).
#ifndef _WIN32

#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace shmnet {

static Status Fail(const char* syscall) { return Status{errno, syscall}; }

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// Reserves the pages of [0, size) so that a full /dev/shm (or disk) is
// reported now instead of as SIGBUS on first touch.
static Status Reserve(int fd, uint64_t size) {
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) return Fail("ftruncate");
#ifdef __linux__
  int rc;
  do {
    rc = posix_fallocate(fd, 0, static_cast<off_t>(size));
  } while (rc == EINTR);
  // posix_fallocate returns the error instead of setting errno. Filesystems
  // that cannot reserve (EOPNOTSUPP) keep the plain ftruncate.
  if (rc != 0 && rc != EOPNOTSUPP) return Status{rc, "posix_fallocate"};
#endif
  return Ok();
}

Status ShmOpen(const char* name, int flags, int mode, uint64_t size, Handle* out, uint64_t* actual_size,
               bool* created) {
  *created = false;
  int oflag = (flags & kShmReadOnly) ? O_RDONLY : O_RDWR;
  int fd = -1;
  if (flags & kShmCreate) {
    fd = shm_open(name, oflag | O_CREAT | O_EXCL, static_cast<mode_t>(mode));
    if (fd >= 0) {
      *created = true;
    } else if (errno != EEXIST || (flags & kShmExclusive)) {
      return Fail("shm_open");
    }
  }
  if (fd < 0) {
    fd = shm_open(name, oflag, 0);
    if (fd < 0) return Fail("shm_open");
  }
  if (*created) {
#ifndef __APPLE__
    // umask may have narrowed the mode; make it exactly what was asked.
    if (fchmod(fd, static_cast<mode_t>(mode)) != 0) {
      Status s = Fail("fchmod");
      close(fd);
      shm_unlink(name);
      return s;
    }
#endif
    Status s = Reserve(fd, size);
    if (s.err != 0) {
      close(fd);
      shm_unlink(name);
      return s;
    }
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Status s = Fail("fstat");
    close(fd);
    if (*created) shm_unlink(name);
    return s;
  }
  *out = fd;
  *actual_size = static_cast<uint64_t>(st.st_size);
  return Ok();
}

Status ShmUnlink(const char* name) {
  if (shm_unlink(name) != 0) return Fail("shm_unlink");
  return Ok();
}

Handle FdHandle(int fd) { return fd; }

Status HandleSize(Handle h, uint64_t* size) {
  struct stat st;
  if (fstat(static_cast<int>(h), &st) != 0) return Fail("fstat");
  *size = static_cast<uint64_t>(st.st_size);
  return Ok();
}

Status HandleClose(Handle h) {
  if (close(static_cast<int>(h)) != 0) return Fail("close");
  return Ok();
}

Status HandleReserve(Handle h, uint64_t size) { return Reserve(static_cast<int>(h), size); }

// Applies what `flags` ask for that the mapping call itself did not:
// transparent huge pages first (so pages faulted in next can be huge), then
// preloading. Both are hints; a refusal leaves the report at kPreloadNone /
// kHugeNone and the mapping as it is.
static void AfterMap(void* p, size_t length, int flags, int* preload, int* huge) {
#ifdef MADV_HUGEPAGE
  if ((flags & kMapHugeTlb) && *huge == kHugeNone && madvise(p, length, MADV_HUGEPAGE) == 0) {
    *huge = kHugeTransparent;
  }
#endif
  if ((flags & kMapPopulate) && *preload == kPreloadNone) {
#ifdef MADV_POPULATE_READ
    // Read faults only: never breaks copy-on-write nor dirties file pages.
    // Kernels before 5.14 answer EINVAL and get the advice below.
    if (madvise(p, length, MADV_POPULATE_READ) == 0) {
      *preload = kPreloadPopulate;
      return;
    }
#endif
    if (madvise(p, length, MADV_WILLNEED) == 0) *preload = kPreloadWillNeed;
  }
}

// mmap with MAP_HUGETLB first when kMapHugeTlb asks for it, falling back to
// normal pages; then the preload/huge-page advice of AfterMap.
static Status MapAndAdvise(size_t length, int mprot, int mflags, int fd, off_t off, int flags, void** addr,
                           int* preload, int* huge) {
  void* p = MAP_FAILED;
#ifdef MAP_HUGETLB
  if (flags & kMapHugeTlb) {
    p = mmap(nullptr, length, mprot, mflags | MAP_HUGETLB, fd, off);
    if (p != MAP_FAILED) *huge = kHugeTlb;
  }
#endif
  if (p == MAP_FAILED) p = mmap(nullptr, length, mprot, mflags, fd, off);
  if (p == MAP_FAILED) return Fail("mmap");
#ifdef MAP_POPULATE
  if (mflags & MAP_POPULATE) *preload = kPreloadPopulate;
#endif
  AfterMap(p, length, flags, preload, huge);
  *addr = p;
  return Ok();
}

Status MapHandle(Handle h, uint64_t offset, size_t length, int prot, int flags, void** addr, int* preload,
                 int* huge) {
  int fd = static_cast<int>(h);
  int mprot = prot == kProtRead ? PROT_READ : PROT_READ | PROT_WRITE;
  int mflags = prot == kProtCopyOnWrite ? MAP_PRIVATE : MAP_SHARED;
  off_t off = static_cast<off_t>(offset);
  *preload = kPreloadNone;
  *huge = kHugeNone;
#ifdef MAP_POPULATE
  // Shared mappings only: on a private writable mapping MAP_POPULATE
  // write-faults every page, copying the whole file into anonymous memory.
  if ((flags & kMapPopulate) && mflags == MAP_SHARED) mflags |= MAP_POPULATE;
#endif
  // With kMapHugeTlb, MAP_HUGETLB succeeds for hugetlbfs files only; an
  // ordinary file answers EINVAL and is mapped normally, with transparent
  // huge pages requested.
  return MapAndAdvise(length, mprot, mflags, fd, off, flags, addr, preload, huge);
}

Status MapAnonymous(size_t length, int flags, void** addr, int* preload, int* huge) {
  int mflags = MAP_SHARED | MAP_ANONYMOUS;
  *preload = kPreloadNone;
  *huge = kHugeNone;
#ifdef MAP_POPULATE
  if (flags & kMapPopulate) mflags |= MAP_POPULATE;
#endif
  // With kMapHugeTlb, MAP_HUGETLB fails when no huge pages are reserved
  // (vm.nr_hugepages = 0) or the length is not a multiple of the huge page
  // size: normal pages then.
  return MapAndAdvise(length, PROT_READ | PROT_WRITE, mflags, -1, 0, flags, addr, preload, huge);
}

Status Unmap(void* addr, size_t length) {
  if (munmap(addr, length) != 0) return Fail("munmap");
  return Ok();
}

Status Sync(void* addr, size_t length, bool async, Handle file) {
  (void)file;  // msync(MS_SYNC) already waits for the data to reach the disk
  if (msync(addr, length, async ? MS_ASYNC : MS_SYNC) != 0) return Fail("msync");
  return Ok();
}

// ---- guarded copies --------------------------------------------------------
//
// A SIGBUS handler, installed on first use, that turns a fault inside a
// GuardedCopy into a siglongjmp back to it. Each thread publishes its copy
// in a thread-local (initial-exec on Linux, so the handler reads it without
// calling into the dynamic linker). Any other SIGBUS goes to the handler
// that was there before, or, if there was none, to the default action.

namespace {

struct Guard {
  sigjmp_buf env;
  const char* lo[2];
  const char* hi[2];
};

#if defined(__linux__) && defined(__GNUC__)
__attribute__((tls_model("initial-exec"))) thread_local Guard* active_guard = nullptr;
#else
thread_local Guard* active_guard = nullptr;
#endif

struct sigaction previous_bus;
int install_errno = 0;
std::once_flag install_once;

bool Covers(const Guard* g, const void* addr) {
  const char* a = static_cast<const char*>(addr);
  return (a >= g->lo[0] && a < g->hi[0]) || (a >= g->lo[1] && a < g->hi[1]);
}

void OnBus(int sig, siginfo_t* info, void* context) {
  Guard* g = active_guard;
  // si_code > 0: raised by the kernel for a fault, not sent by kill().
  if (g != nullptr && info != nullptr && info->si_code > 0 && Covers(g, info->si_addr)) {
    active_guard = nullptr;
    siglongjmp(g->env, 1);
  }
  if (previous_bus.sa_flags & SA_SIGINFO) {
    if (previous_bus.sa_sigaction != nullptr) {
      previous_bus.sa_sigaction(sig, info, context);
      return;
    }
  } else if (previous_bus.sa_handler == SIG_IGN) {
    // Ignoring a sent SIGBUS is what was asked; a real fault cannot be ignored.
    if (info == nullptr || info->si_code <= 0) return;
  } else if (previous_bus.sa_handler != SIG_DFL) {
    previous_bus.sa_handler(sig);
    return;
  }
  // The default action: put it back; a fault then happens again on return,
  // a sent signal is raised again (it is blocked until this handler returns).
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGBUS, &dfl, nullptr);
  if (info == nullptr || info->si_code <= 0) raise(SIGBUS);
}

void InstallBusHandler() {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = OnBus;
  sigemptyset(&sa.sa_mask);
  // SA_NODEFER keeps SIGBUS unblocked while the handler runs, so leaving it
  // by siglongjmp (which, with savemask 0, restores no mask) leaves the
  // thread's mask exactly as it was: no sigprocmask call per copy.
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  if (sigaction(SIGBUS, &sa, &previous_bus) != 0) install_errno = errno;
}

}  // namespace

Status GuardedCopy(void* dst, const void* src, size_t length) {
  std::call_once(install_once, InstallBusHandler);
  if (install_errno != 0) return Status{install_errno, "sigaction"};
  Guard guard;
  guard.lo[0] = static_cast<const char*>(dst);
  guard.hi[0] = guard.lo[0] + length;
  guard.lo[1] = static_cast<const char*>(src);
  guard.hi[1] = guard.lo[1] + length;
  if (sigsetjmp(guard.env, 0) != 0) return Status{EFAULT, "memcpy"};
  active_guard = &guard;
  // Keep the compiler from moving the copy's loads and stores across the
  // publication of the guard (the handler runs on this thread).
  std::atomic_signal_fence(std::memory_order_seq_cst);
  std::memmove(dst, src, length);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  active_guard = nullptr;
  return Ok();
}

Status Advise(void* addr, size_t length, int advice) {
  int a;
  switch (advice) {
    case kAdviceNormal: a = MADV_NORMAL; break;
    case kAdviceSequential: a = MADV_SEQUENTIAL; break;
    case kAdviceRandom: a = MADV_RANDOM; break;
    case kAdviceWillNeed: a = MADV_WILLNEED; break;
    case kAdviceDontNeed: a = MADV_DONTNEED; break;
#ifdef MADV_HUGEPAGE
    case kAdviceHugePage: a = MADV_HUGEPAGE; break;
    case kAdviceNoHugePage: a = MADV_NOHUGEPAGE; break;
#endif
    default: return Status{ENOTSUP, "madvise"};
  }
  if (madvise(addr, length, a) != 0) return Fail("madvise");
  return Ok();
}

Status Lock(void* addr, size_t length) {
  if (mlock(addr, length) != 0) return Fail("mlock");
  return Ok();
}

Status Unlock(void* addr, size_t length) {
  if (munlock(addr, length) != 0) return Fail("munlock");
  return Ok();
}

Status SysvCreate(uint64_t size, int mode, int flags, int* id, int* huge) {
  int shmflg = IPC_CREAT | IPC_EXCL | (mode & 0777);
  int r = -1;
  *huge = kHugeNone;
#ifdef SHM_HUGETLB
  // Fails without reserved huge pages or for a size that is not a multiple
  // of the huge page size: a normal segment then.
  if (flags & kMapHugeTlb) {
    r = shmget(IPC_PRIVATE, static_cast<size_t>(size), shmflg | SHM_HUGETLB);
    if (r >= 0) *huge = kHugeTlb;
  }
#endif
  if (r < 0) r = shmget(IPC_PRIVATE, static_cast<size_t>(size), shmflg);
  if (r < 0) return Fail("shmget");
  *id = r;
  return Ok();
}

Status SysvSize(int id, uint64_t* size) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) return Fail("shmctl");
  *size = static_cast<uint64_t>(ds.shm_segsz);
  return Ok();
}

Status SysvAttach(int id, bool read_only, size_t length, int flags, void** addr, int* preload, int* huge) {
  *preload = kPreloadNone;
  *huge = kHugeNone;
  void* p = shmat(id, nullptr, read_only ? SHM_RDONLY : 0);
  if (p == reinterpret_cast<void*>(-1)) return Fail("shmat");
  AfterMap(p, length, flags, preload, huge);
  *addr = p;
  return Ok();
}

Status SysvDetach(void* addr) {
  if (shmdt(addr) != 0) return Fail("shmdt");
  return Ok();
}

Status SysvRemove(int id) {
  if (shmctl(id, IPC_RMID, nullptr) != 0) return Fail("shmctl");
  return Ok();
}

}  // namespace shmnet

#endif  // !_WIN32
