/* sandbox.c - run one student program in the grader's sandbox:
 *   sandbox [--events FILE] [--open-files N] [--net-raw] [--bind SRC:DST]...
 *           [--writable DIR]... [--] PROG [ARGS...]
 *
 * --events FILE   append what the sandbox did to the program, one word a line
 *                 ("flooded stdout", "cpu-hog"), for the harness's results model
 * --open-files N  the descriptor limit (default MAX_OPEN_FILES); SOFT:HARD sets
 *                 a soft limit below the hard one (a program that raises its own)
 * --net-raw       keep CAP_NET_RAW (raw sockets in the test's network namespace)
 *                 and no other capability
 * --bind SRC:DST  show the file or directory SRC at DST (read-only), e.g. a lab's
 *                 /etc/hosts, or a compile's sources at /src
 * --writable DIR  show DIR writable (a per-test directory shared with peers);
 *                 SRC:DST shows SRC writable at DST (a compile's /out)
 * --chdir DIR     start the program in DIR of its view (default /)
 * --memory MIB    the address-space limit (default MEMORY_LIMIT; a compiler needs more)
 * --env NAME=VAL  add to the program's fixed environment (nothing is inherited)
 * --map-ids       map the lab root's users and groups one to one into the program's
 *                 user namespace, so the ids the kernel reports to it (SO_PEERCRED,
 *                 stat) are the lab root's and not the overflow id; it keeps no
 *                 capability there
 *
 * harness/sandbox.py builds this and says what it does and why; in short, PROG gets
 * limits (CPU, memory, processes, files, output), the lowest CPU priority, its own
 * PID namespace (nothing it leaves behind survives it), its own IPC namespace, a
 * file-system view of its own (system libraries, its binary, what the options show,
 * private /tmp, HOME and /dev/shm; nothing of the grader), a fixed environment, its
 * own user namespace (so RLIMIT_NPROC counts it alone), and, when the grader is the
 * real root, the uid SANDBOX_UID. Where no namespace can be made, it runs as
 * SANDBOX_UID if the grader is root, and not at all otherwise (fail closed).
 *
 * Three processes: this one (the harness's handle: it passes output on, cuts it off
 * past OUTPUT_LIMIT, and exits the way PROG did), an init (PID 1 of the new PID
 * namespace: mounts, passes signals on, reaps), and PROG. Without namespaces the init
 * is skipped and this process, a child subreaper, kills whatever PROG left behind.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/syscall.h>

#define SANDBOX_UID 65534
#define OUTPUT_LIMIT (2L << 20)		/* per stream; below process.py's own limit */
#define MEMORY_LIMIT (256L << 20)
#define CPU_SECONDS 10.0		/* scaled by SOCKLAB_TIMEOUT_SCALE */
#define MAX_PROCESSES 16
#define MAX_OPEN_FILES 256
#define MAX_FILE_SIZE (16L << 20)
#define NICENESS 19		/* for a program that hogs the CPU (see demote_hogs) */
#define HOG_CPU_SECONDS 1.0	/* CPU time of all its processes; scaled like CPU_SECONDS */
#define HOG_CHECK_NS 20000000L	/* how often the init looks */

#define MAX_BINDS 16
#define MAX_ENV 16

static pid_t child = -1;
static int own_proc;		/* /proc shows our PID namespace only */
static int isolated;		/* in namespaces of our own: PID, mount, IPC, view */

/* The options (see the top of the file). */
static int events_fd = -1;
static rlim_t open_files = MAX_OPEN_FILES;
static rlim_t open_files_soft = MAX_OPEN_FILES;
static int keep_net_raw;
static const char *bind_sources[MAX_BINDS], *bind_targets[MAX_BINDS];
static int binds;
static const char *writables[MAX_BINDS], *writable_targets[MAX_BINDS];
static int writable_count;
static int map_ids;
static rlim_t memory_limit = MEMORY_LIMIT;
static char *extra_env[MAX_ENV];
static int extra_env_count;

/* Tell the harness what happened to the program: one line in the events file. */
static void
event(const char *what)
{
	if (events_fd >= 0 && write(events_fd, what, strlen(what)) < 0)
		return;	/* only a report: the sandbox goes on without it */
	if (events_fd >= 0 && write(events_fd, "\n", 1) < 0)
		return;
}

static void
note(const char *what)
{
	fprintf(stderr, "sandbox: %s: %s\n", what, strerror(errno));
}

/* Fail closed: say why the program is not run, and exit 126. */
static void
refuse(const char *why)
{
	fprintf(stderr, "sandbox: refusing to run the program: %s\n", why);
	_exit(126);
}

static void
forward(int signum)
{
	if (child > 0)
		kill(child, signum);
}

static void
catch_stop_signals(void (*handler)(int))
{
	struct sigaction action;
	int signums[] = {SIGTERM, SIGINT, SIGHUP};
	size_t i;

	memset(&action, 0, sizeof action);
	action.sa_handler = handler;
	for (i = 0; i < sizeof signums / sizeof signums[0]; i++)
		sigaction(signums[i], &action, NULL);
}

/* The file-system view (see view_paths below): the new root is a tmpfs mounted
 * over /tmp in our mount namespace, filled with mounts of what the program may see,
 * then made the root. Sources are opened first (following links as the grader's
 * own file system resolves them), because mounting the new root hides /tmp. */
#define VIEW_ROOT "/tmp"
#define VIEW_SMALL "size=1m,mode=0755"
#define VIEW_PRIVATE "size=16m,mode=1777"
#define VIEW_HOME "/home/student"

/* System directories (a merged /usr makes most of them links, kept as links). */
static const char *system_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
				    "/libx32", "/etc/alternatives", NULL};
/* What a program may need of /etc: the dynamic loader's cache, name resolution,
 * service and protocol names, time zone, users and groups (names only). */
static const char *etc_files[] = {"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/resolv.conf",
				  "/etc/hosts", "/etc/host.conf", "/etc/nsswitch.conf",
				  "/etc/gai.conf", "/etc/services", "/etc/protocols",
				  "/etc/localtime", "/etc/passwd", "/etc/group", NULL};
static const char *devices[] = {"null", "zero", "full", "random", "urandom", NULL};

struct shown {
	int fd;			/* O_PATH of the source, opened before the view hides it */
	const char *target;
	int writable;
};

#define MAX_SHOWN 64
static struct shown shown[MAX_SHOWN];
static int shown_count;
static int system_count;	/* the first ones: system directories and /etc files */
static const char *start_dir = "/";

/* Why the view could not be built, for the refusal message. */
static void
view_failed(const char *what)
{
	fprintf(stderr, "sandbox: refusing to run the program: cannot build its file-system "
		"view (%s: %s)\n", what, strerror(errno));
	_exit(126);
}

/* Remember source (opened now) to show at target; a missing optional one is skipped. */
static void
show(const char *source, const char *target, int writable, int required)
{
	int fd = open(source, O_PATH | O_CLOEXEC);

	if (fd < 0) {
		if (required)
			view_failed(source);
		return;
	}
	if (shown_count == MAX_SHOWN) {
		errno = E2BIG;
		view_failed(source);
	}
	shown[shown_count].fd = fd;
	shown[shown_count].target = target;
	shown[shown_count++].writable = writable;
}

/* mkdir -p of the view's path (VIEW_ROOT + path), every part 0755. */
static void
make_dirs(const char *path)
{
	char full[PATH_MAX], *slash;

	if (snprintf(full, sizeof full, VIEW_ROOT "%s", path) >= (int)sizeof full) {
		errno = ENAMETOOLONG;
		view_failed(path);
	}
	for (slash = full + strlen(VIEW_ROOT) + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		if (mkdir(full, 0755) != 0 && errno != EEXIST)
			view_failed(full);
		*slash = '/';
	}
	if (mkdir(full, 0755) != 0 && errno != EEXIST)
		view_failed(full);
}

/* make_dirs of the folder that holds path. */
static void
make_dirs_of(const char *path)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof parent, "%s", path);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		make_dirs(parent);
	}
}

/* The flags a read-only remount must keep (a parent namespace may have locked them). */
static unsigned long
kept_flags(int fd)
{
	struct statvfs info;
	unsigned long flags = 0;

	if (fstatvfs(fd, &info) != 0)
		return 0;
	if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
	if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
	if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
	if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
	if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
	if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
	return flags;
}

/* Mount one remembered source at its target in the view. */
static void
mount_shown(const struct shown *item)
{
	char source[64], target[PATH_MAX];
	struct stat info;
	int fd;

	snprintf(source, sizeof source, "/proc/self/fd/%d", item->fd);
	snprintf(target, sizeof target, VIEW_ROOT "%s", item->target);
	if (fstat(item->fd, &info) != 0)
		view_failed(item->target);
	if (S_ISDIR(info.st_mode)) {
		make_dirs(item->target);
	} else {
		make_dirs_of(item->target);
		/* a file shown already (a lab's own /etc/hosts over the system's) is mounted over */
		if (lstat(target, &info) != 0 &&
		    (fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)) >= 0)
			close(fd);
	}
	if (mount(source, target, NULL, MS_BIND, NULL) != 0)
		view_failed(item->target);
	if (!item->writable &&
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(item->fd),
		  NULL) != 0)
		view_failed(item->target);
}

static void
mount_tmpfs(const char *path, const char *options)
{
	char target[PATH_MAX];

	make_dirs(path);
	snprintf(target, sizeof target, VIEW_ROOT "%s", path);
	if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0)
		view_failed(path);
}

/* A system directory that is a link (merged /usr) stays a link. Its target is
 * read before /tmp is hidden, made after. */
static char system_links[8][PATH_MAX];

static void
copy_link(int i)
{
	char where[PATH_MAX];

	if (system_links[i][0] == '\0')
		return;
	snprintf(where, sizeof where, VIEW_ROOT "%s", system_dirs[i]);
	make_dirs_of(system_dirs[i]);
	if (symlink(system_links[i], where) != 0)
		view_failed(system_dirs[i]);
}

/* Is path (once resolved) inside a system directory, which the view shows anyway? */
static int
in_system_dir(const char *path)
{
	char real[PATH_MAX];
	size_t n;
	int i;

	if (realpath(path, real) == NULL)
		return 0;
	for (i = 0; system_dirs[i]; i++) {
		n = strlen(system_dirs[i]);
		if (strncmp(real, system_dirs[i], n) == 0 && real[n] == '/')
			return 1;
	}
	return 0;
}

/* Open everything the view shows, while the grader's file system is still there. */
static void
choose_sources(char **argv)
{
	char path[PATH_MAX];
	struct stat info;
	ssize_t n;
	int i;

	for (i = 0; system_dirs[i]; i++) {
		if (lstat(system_dirs[i], &info) != 0)
			continue;
		if (S_ISLNK(info.st_mode)) {
			n = readlink(system_dirs[i], system_links[i], sizeof system_links[i] - 1);
			system_links[i][n > 0 ? n : 0] = '\0';
		} else
			show(system_dirs[i], system_dirs[i], 0, 0);
	}
	for (i = 0; etc_files[i]; i++)
		show(etc_files[i], etc_files[i], 0, 0);
	system_count = shown_count;
	for (i = 0; devices[i]; i++) {
		snprintf(path, sizeof path, "/dev/%s", devices[i]);
		show(path, strdup(path), 1, 0);
	}
	/* The program's binary and nothing beside it; and the one a wrapper (valgrind)
	 * is given: every file named in the command line by its absolute path. */
	for (i = 0; argv[i]; i++)
		if (argv[i][0] == '/' && !in_system_dir(argv[i]) &&
		    stat(argv[i], &info) == 0 && S_ISREG(info.st_mode))
			show(argv[i], argv[i], 0, 1);
	for (i = 0; i < binds; i++)
		show(bind_sources[i], bind_targets[i], 0, 1);
	for (i = 0; i < writable_count; i++)
		show(writables[i], writable_targets[i], 1, 1);
}

/* In new mount and IPC namespaces: build the view and make it the root, with /proc
 * of our PID namespace. Refuses to run the program (exit 126) if any part fails. */
static void
build_view(char **argv)
{
	int i;

	if (unshare(CLONE_NEWNS | CLONE_NEWIPC) != 0)
		view_failed("new mount and IPC namespaces");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		view_failed("a private mount tree");
	choose_sources(argv);
	if (mount("tmpfs", VIEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, VIEW_SMALL) != 0)
		view_failed("a tmpfs for the new root");
	/* The system first, then private places, then what the options show (which
	 * may lie inside them: a test's directory under /tmp, a lab's /etc/hosts). */
	for (i = 0; system_dirs[i]; i++)
		copy_link(i);
	for (i = 0; i < system_count; i++)
		mount_shown(&shown[i]);
	mount_tmpfs("/tmp", VIEW_PRIVATE);
	mount_tmpfs("/home", VIEW_SMALL);
	mount_tmpfs(VIEW_HOME, VIEW_PRIVATE);
	mount_tmpfs("/dev", VIEW_SMALL);
	mount_tmpfs("/dev/shm", VIEW_PRIVATE);
	make_dirs("/proc");
	if (mount("proc", VIEW_ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		view_failed("/proc");
	own_proc = 1;
	if (symlink("/proc/self/fd", VIEW_ROOT "/dev/fd") != 0 ||
	    symlink("/proc/self/fd/0", VIEW_ROOT "/dev/stdin") != 0 ||
	    symlink("/proc/self/fd/1", VIEW_ROOT "/dev/stdout") != 0 ||
	    symlink("/proc/self/fd/2", VIEW_ROOT "/dev/stderr") != 0)
		view_failed("/dev links");
	for (i = system_count; i < shown_count; i++)
		mount_shown(&shown[i]);
	for (i = 0; i < shown_count; i++)
		close(shown[i].fd);
	if (chdir(VIEW_ROOT) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
	    umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
		view_failed("pivot_root");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) != 0)
		view_failed("a read-only root");
	if (chdir(start_dir) != 0)
		view_failed(start_dir);
}

/* Is uid mapped here, and is our root the real root? */
static int
real_root_maps(unsigned long uid)
{
	FILE *table = fopen("/proc/self/uid_map", "r");
	unsigned long inside, outside, count;
	int real_root = 0, mapped = 0;

	if (table == NULL)
		return 0;
	while (fscanf(table, "%lu %lu %lu", &inside, &outside, &count) == 3) {
		real_root |= inside == 0 && outside == 0;
		mapped |= inside <= uid && uid - inside < count;
	}
	fclose(table);
	return real_root && mapped;
}

/* Keep CAP_NET_RAW, and only it, across the change of user and the exec: in the
 * bounding set, and as an ambient capability (the program file has none). */
static int
keep_only_net_raw(int before_setuid)
{
	struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	int cap;

	if (before_setuid) {
		/* Dropping from the bounding set takes CAP_SETPCAP in the effective set,
		 * which a change of user (to nobody, as the real root) clears: drop first. */
		for (cap = 0; cap <= CAP_LAST_CAP; cap++)
			if (cap != CAP_NET_RAW && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
			    errno != EINVAL)
				return -1;
		return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	}
	memset(data, 0, sizeof data);
	data[0].effective = data[0].permitted = data[0].inheritable = 1u << CAP_NET_RAW;
	if (syscall(SYS_capset, &header, data) != 0)
		return -1;
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0);
}

/* --map-ids: a helper, still in the lab root's user namespace (only a process there
 * may write a map of more than its own id), waits for the byte we write on *go once
 * we have a user namespace of our own, then gives it the lab root's ids one to one.
 * Our /proc is read-only by then: the helper writes through a proc of its own. */
static pid_t
start_id_mapper(int *go)
{
	static const char *tables[] = {"uid_map", "gid_map"};
	static const char own_proc_dir[] = "/tmp/.proc-for-ids";
	char map[1024], path[128], line[128];
	const char *proc = "/proc";
	unsigned long inside, outside, count;
	int pipe_fds[2], i, fd, ok = 1;
	size_t used;
	FILE *own;
	pid_t helper;

	if (pipe(pipe_fds) != 0 || (helper = fork()) < 0)
		return -1;
	if (helper > 0) {
		close(pipe_fds[0]);
		*go = pipe_fds[1];
		return helper;
	}
	close(pipe_fds[1]);
	if (read(pipe_fds[0], line, 1) != 1)
		_exit(1);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "/proc/self/%s", tables[i]);
		if ((own = fopen(path, "r")) == NULL)
			_exit(1);
		for (used = 0; used < sizeof map &&
		     fscanf(own, "%lu %lu %lu", &inside, &outside, &count) == 3;)
			used += (size_t)snprintf(map + used, sizeof map - used, "%lu %lu %lu\n",
						 inside, inside, count);
		fclose(own);
		snprintf(path, sizeof path, "%s/%d/%s", proc, (int)getppid(), tables[i]);
		if (used < sizeof map && (fd = open(path, O_WRONLY)) < 0 && errno == EROFS &&
		    mkdir(own_proc_dir, 0700) == 0 &&
		    mount("proc", own_proc_dir, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
			proc = own_proc_dir;
			snprintf(path, sizeof path, "%s/%d/%s", proc, (int)getppid(), tables[i]);
			fd = open(path, O_WRONLY);
		}
		if (used >= sizeof map || fd < 0)
			_exit(1);
		ok &= write(fd, map, used) == (ssize_t)used;
		close(fd);
	}
	if (proc == own_proc_dir && (umount2(own_proc_dir, MNT_DETACH) != 0 || rmdir(own_proc_dir) != 0))
		ok = 0;
	_exit(ok ? 0 : 1);
}

/* The end of --map-ids, in our new user namespace: let the helper map it, and make
 * sure that even an id 0 there keeps no capability across exec. */
static void
finish_id_map(pid_t helper, int go, int unshared)
{
	int status = 1;

	if (unshared && write(go, "!", 1) != 1)
		unshared = 0;
	close(go);
	while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
		;
	if (!unshared || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "sandbox: could not map the lab root's ids; they read as the "
			"overflow id\n");
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0, 0) != 0 &&
	    unshared)
		_exit(126);
}

/* Leave the real root (exempt from RLIMIT_NPROC) if we can, then enter a user
 * namespace of our own so that RLIMIT_NPROC counts this program's processes only.
 * With --net-raw the program stays in the lab root's user namespace (which owns the
 * test's network namespace, where the raw socket must be allowed), keeping
 * CAP_NET_RAW alone. */
static void
drop_to_own_user(void)
{
	pid_t mapper = -1;
	int go = -1;

	if (keep_net_raw && keep_only_net_raw(1) != 0)
		_exit(126);
	if (map_ids && !keep_net_raw && (mapper = start_id_mapper(&go)) < 0)
		note("start the id mapper");
	if (getuid() == 0 && (real_root_maps(SANDBOX_UID) || !isolated)) {
		/* Without namespaces this is all that keeps the program from the grader's
		 * identity: it must hold, or the program does not run. */
		if (setgroups(0, NULL) != 0 || setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0 ||
		    setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0 ||
		    getuid() == 0 || geteuid() == 0)
			refuse("it would run as root: no user namespace, and cannot become nobody");
	}
	if (keep_net_raw) {
		if (keep_only_net_raw(0) != 0) {
			note("keep CAP_NET_RAW");
			_exit(126);
		}
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(126);
		return;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		_exit(126);
	if (!isolated)
		return;
	/* best effort: without it the count is per grader */
	if (mapper > 0)
		finish_id_map(mapper, go, unshare(CLONE_NEWUSER) == 0);
	else
		(void)unshare(CLONE_NEWUSER);
}

/* For an ordinary user outside any user namespace: a user namespace of our own, in
 * which we are root (to make the others) and the program's ids stay ours outside. */
static int
own_user_namespace(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd, n, ok;

	if (unshare(CLONE_NEWUSER) != 0)
		return -1;
	if ((fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
		ok = write(fd, "deny", 4) == 4;
		close(fd);
		if (!ok)
			return -1;
	}
	n = snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
	if ((fd = open("/proc/self/uid_map", O_WRONLY)) < 0)
		return -1;
	ok = write(fd, map, (size_t)n) == n;
	close(fd);
	n = snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
	if (!ok || (fd = open("/proc/self/gid_map", O_WRONLY)) < 0)
		return -1;
	ok = write(fd, map, (size_t)n) == n;
	close(fd);
	return ok ? 0 : -1;
}

/* SOCKLAB_TIMEOUT_SCALE: CPU budgets stretch with the grader's timeouts. */
static double
timeout_scale(void)
{
	const char *text = getenv("SOCKLAB_TIMEOUT_SCALE");
	double scale = text && *text ? atof(text) : 1.0;

	return scale > 0 ? scale : 1.0;
}

static void
limit(int resource, rlim_t value)
{
	struct rlimit old, new = {value, value};

	if (getrlimit(resource, &old) == 0 && old.rlim_max != RLIM_INFINITY && old.rlim_max < value)
		new.rlim_cur = new.rlim_max = old.rlim_max;
	if (setrlimit(resource, &new) != 0)
		note("setrlimit");
}

static void
set_limits(void)
{
	const char *mode = getenv("SOCKLAB_SANDBOX");
	rlim_t cpu = (rlim_t)(CPU_SECONDS * timeout_scale());
	struct rlimit cpu_limit = {cpu, cpu + 1};

	setrlimit(RLIMIT_CPU, &cpu_limit);
	limit(RLIMIT_NPROC, MAX_PROCESSES);
	limit(RLIMIT_NOFILE, open_files);
	if (open_files_soft < open_files) {
		struct rlimit files;

		if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur > open_files_soft) {
			files.rlim_cur = open_files_soft;
			if (setrlimit(RLIMIT_NOFILE, &files) != 0)
				note("setrlimit");
		}
	}
	limit(RLIMIT_FSIZE, MAX_FILE_SIZE);
	limit(RLIMIT_CORE, 0);
	if (mode == NULL || strcmp(mode, "no-memory-limit") != 0)
		limit(RLIMIT_AS, memory_limit);
}

/* The program's whole environment: fixed, plus --env; nothing of the grader's (an
 * instructor's tokens, paths) is inherited. */
static void
fixed_environment(void)
{
	int i;

	clearenv();
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", 1);
	setenv("HOME", isolated ? VIEW_HOME : "/", 1);
	setenv("TMPDIR", "/tmp", 1);	/* without a view, the shared one */
	setenv("LANG", "C.UTF-8", 1);
	for (i = 0; i < extra_env_count; i++)
		putenv(extra_env[i]);
}

/* Become the program. Never returns. */
static void
run_program(char **argv)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	catch_stop_signals(SIG_DFL);
	drop_to_own_user();
	set_limits();
	fixed_environment();
	execvp(argv[0], argv);
	fprintf(stderr, "sandbox: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Once the processes of this PID namespace have used more than HOG_CPU_SECONDS of
 * CPU, give them all the lowest priority, so that a busy loop or a fork bomb cannot
 * starve the grader and other tests. A program that computes little (every correct
 * lab program) keeps its normal priority, and with it its timing. */
static void
demote_hogs(void)
{
	static int hogging;
	static long ticks;
	unsigned long user, system, used = 0;
	char path[64], stat[1024], *end;
	struct dirent *entry;
	DIR *proc;
	FILE *file;

	if (ticks == 0)
		ticks = sysconf(_SC_CLK_TCK);
	if (!own_proc || (proc = opendir("/proc")) == NULL)	/* never touch the grader */
		return;
	while ((entry = readdir(proc)) != NULL) {
		long pid = strtol(entry->d_name, &end, 10);

		if (*end != '\0' || pid <= 1)
			continue;
		if (hogging) {
			setpriority(PRIO_PROCESS, (id_t)pid, NICENESS);
			continue;
		}
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		if ((file = fopen(path, "r")) == NULL)
			continue;
		/* After "(comm)" come 11 fields, then utime and stime. */
		if (fgets(stat, sizeof stat, file) && (end = strrchr(stat, ')')) != NULL &&
		    sscanf(end + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			   &user, &system) == 2)
			used += user + system;
		fclose(file);
	}
	closedir(proc);
	if (!hogging && used > HOG_CPU_SECONDS * timeout_scale() * (double)ticks) {
		hogging = 1;
		fprintf(stderr, "sandbox: the program used %.1f s of CPU; from now on it runs at "
			"the lowest priority\n", (double)used / (double)ticks);
		event("cpu-hog");
		demote_hogs();
	}
}

/* PID 1 of the program's PID namespace: start it, pass signals on, reap orphans,
 * demote CPU hogs; report how it ended and exit, which ends everything left in the
 * namespace. */
static void
be_init(char **argv, int status_pipe)
{
	struct timespec period = {0, HOG_CHECK_NS};
	sigset_t chld;
	int status;
	pid_t pid;

	build_view(argv);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);	/* taken by sigtimedwait() below */
	if ((child = fork()) < 0)
		_exit(126);
	if (child == 0) {
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		close(status_pipe);
		run_program(argv);
	}
	catch_stop_signals(forward);
	for (;;) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != child)
				continue;
			if (write(status_pipe, &status, sizeof status) != sizeof status)
				_exit(126);
			_exit(0);
		}
		if (pid < 0 && errno == ECHILD)
			_exit(126);
		demote_hogs();
		sigtimedwait(&chld, NULL, &period);
	}
}

/* Living descendants of this process, from /proc; kill them all (we are their
 * subreaper, so orphans are ours). */
static void
kill_descendants(void)
{
	char path[64];
	FILE *list;
	long pid;
	int round, found;

	for (round = 0; round < 100; round++) {
		snprintf(path, sizeof path, "/proc/%d/task/%d/children", getpid(), getpid());
		if ((list = fopen(path, "r")) == NULL)
			return;
		for (found = 0; fscanf(list, "%ld", &pid) == 1; found++)
			kill((pid_t)pid, SIGKILL);
		fclose(list);
		if (!found)
			return;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		usleep(1000);
	}
}

static int child_status, child_done;

static int
child_exited(void)
{
	if (!child_done && waitpid(child, &child_status, WNOHANG) == child)
		child_done = 1;
	return child_done;
}

/* Copy the program's output to ours until it ends; 1 if it was cut off. */
static int
pass_output(int out, int err)
{
	struct pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
	long written[2] = {0, 0};
	char buffer[65536];
	int open_pipes = 2, i, ready;
	ssize_t n, room, done;

	while (open_pipes > 0) {
		ready = poll(fds, 2, 200);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0 && child_exited())
			kill_descendants();	/* a leftover still holds our pipes */
		for (i = 0; i < 2 && ready > 0; i++) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(fds[i].fd, buffer, sizeof buffer);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fds[i].fd = -1;
				open_pipes--;
				continue;
			}
			room = OUTPUT_LIMIT - written[i];
			for (done = 0; done < (n < room ? n : room);) {
				ssize_t w = write(i + 1, buffer + done, (size_t)((n < room ? n : room) - done));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;
				done += w;
			}
			written[i] += n;
			if (written[i] > OUTPUT_LIMIT) {
				kill(child, SIGKILL);
				kill_descendants();
				fprintf(stderr, "sandbox: the program printed more than %ld MiB on %s "
					"and was stopped\n", OUTPUT_LIMIT >> 20, i ? "stderr" : "stdout");
				event(i ? "flooded stderr" : "flooded stdout");
				return 1;
			}
		}
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sandbox [--events FILE] [--open-files N] [--net-raw] [--map-ids] "
		"[--bind SRC:DST]... [--writable DIR[:DST]]... [--chdir DIR] [--memory MIB] "
		"[--env NAME=VALUE]... [--] PROGRAM [ARGS...]\n");
	exit(2);
}

/* Read the options; returns the index of PROGRAM in argv. */
static int
parse_options(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *option = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
		char *colon, *end;

		if (strcmp(option, "--") == 0)
			return i + 1 < argc ? i + 1 : (usage(), 0);
		if (strcmp(option, "--net-raw") == 0) {
			keep_net_raw = 1;
			continue;
		}
		if (strcmp(option, "--map-ids") == 0) {
			map_ids = 1;
			continue;
		}
		if (value == NULL)
			usage();
		i++;
		if (strcmp(option, "--events") == 0) {
			events_fd = open(value, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
			if (events_fd < 0)
				note(value);
		} else if (strcmp(option, "--open-files") == 0) {
			open_files = open_files_soft = (rlim_t)strtoul(value, &end, 10);
			if (*end == ':')
				open_files = (rlim_t)strtoul(end + 1, &end, 10);
			if (*end != '\0' || open_files_soft < 3 || open_files < open_files_soft)
				usage();
		} else if (strcmp(option, "--bind") == 0 && binds < MAX_BINDS &&
			   (colon = strchr(value, ':')) != NULL) {
			*colon = '\0';
			bind_sources[binds] = value;
			bind_targets[binds++] = colon + 1;
		} else if (strcmp(option, "--writable") == 0 && writable_count < MAX_BINDS) {
			colon = strchr(value, ':');
			if (colon)
				*colon = '\0';
			writable_targets[writable_count] = colon ? colon + 1 : value;
			writables[writable_count++] = value;
		} else if (strcmp(option, "--chdir") == 0) {
			start_dir = value;
		} else if (strcmp(option, "--memory") == 0) {
			memory_limit = (rlim_t)strtoul(value, &end, 10) << 20;
			if (*end != '\0' || memory_limit == 0)
				usage();
		} else if (strcmp(option, "--env") == 0 && extra_env_count < MAX_ENV &&
			   strchr(value, '=') != NULL) {
			extra_env[extra_env_count++] = (char *)value;
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	return i;
}

int
main(int argc, char **argv)
{
	int out[2], err[2], status_pipe[2], status, flooded, first;
	struct rlimit no_core = {0, 0};

	first = parse_options(argc, argv);
	argv += first - 1;
	setrlimit(RLIMIT_CORE, &no_core);	/* we may re-raise the program's SIGSEGV */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(status_pipe, O_CLOEXEC)) {
		note("pipe");
		return 126;
	}
	/* Our next child is PID 1 of a new namespace. An ordinary user outside any user
	 * namespace makes one of its own first. */
	isolated = unshare(CLONE_NEWPID) == 0 ||
		(geteuid() != 0 && own_user_namespace() == 0 && unshare(CLONE_NEWPID) == 0);
	if (!isolated && geteuid() != 0)
		refuse("no namespace can be made here, and it would run as the grader's own user");
	if ((child = fork()) < 0) {
		note("fork");
		return 126;
	}
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* the init dies with us, and the namespace with it */
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(status_pipe[0]);
		if (isolated)
			be_init(argv + 1, status_pipe[1]);
		close(status_pipe[1]);
		run_program(argv + 1);
	}
	close(out[1]);
	close(err[1]);
	close(status_pipe[1]);
	catch_stop_signals(forward);
	flooded = pass_output(out[0], err[0]);
	while (!child_done) {
		if (waitpid(child, &child_status, 0) == child)
			child_done = 1;
		else if (errno != EINTR)
			break;
	}
	status = child_status;
	if (isolated && read(status_pipe[0], &status, sizeof status) != sizeof status)
		status = child_status;
	kill_descendants();
	if (flooded)
		return 125;
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		kill(getpid(), WTERMSIG(status));
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
