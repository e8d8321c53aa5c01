"""A terminal through --console-socket: the runtime sends the pty master over
a unix socket with SCM_RIGHTS."""

import os
import socket
import stat

import helpers


def _tty_bundle(ct, script):
    def cfg(c):
        c["process"]["terminal"] = True
        c["process"]["args"] = ["sh", "-c", script]

    return ct.make_bundle(cfg)


def _create_with_console(ct, bundle, sock_path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(sock_path)
        listener.listen(1)
        create = ct.rt.spawn("create", "--console-socket", sock_path, "--bundle", bundle.path, bundle.id)
        try:
            master = helpers.recv_fd(listener)
            r = create.wait(30)
        finally:
            create.kill()
    assert r.rc == 0, r
    return master


def test_console_socket_receives_pty_master(ct):
    b = _tty_bundle(ct, "tty; echo hi; sleep 0.5")
    master = _create_with_console(ct, b, ct.path("console.sock"))
    try:
        st = os.fstat(master)
        assert stat.S_ISCHR(st.st_mode)
        assert os.major(st.st_rdev) == 5 and os.minor(st.st_rdev) == 2  # /dev/ptmx
        ct.rt.start(b.id)
        text = helpers.read_pty_until(master, "hi")
    finally:
        os.close(master)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[0].startswith("/dev/pts/"), text
    assert "hi" in lines


def test_console_is_stdin_stdout_stderr(ct):
    b = _tty_bundle(ct, "for fd in 0 1 2; do [ -t $fd ] && echo tty$fd; done; echo end")
    master = _create_with_console(ct, b, ct.path("console.sock"))
    try:
        ct.rt.start(b.id)
        text = helpers.read_pty_until(master, "end")
    finally:
        os.close(master)
    assert text.split() == ["tty0", "tty1", "tty2", "end"]


def test_console_input_reaches_process(ct):
    b = _tty_bundle(ct, "read line; echo got:$line")
    master = _create_with_console(ct, b, ct.path("console.sock"))
    try:
        ct.rt.start(b.id)
        os.write(master, b"ping\n")
        text = helpers.read_pty_until(master, "got:ping")
    finally:
        os.close(master)
    assert "got:ping" in text


def test_dev_console_exists_with_terminal(ct):
    b = _tty_bundle(ct, "[ -c /dev/console ] && echo console-ok; echo end")
    master = _create_with_console(ct, b, ct.path("console.sock"))
    try:
        ct.rt.start(b.id)
        text = helpers.read_pty_until(master, "end")
    finally:
        os.close(master)
    assert "console-ok" in text


def test_terminal_without_console_socket_fails_create(ct):
    b = _tty_bundle(ct, "true")
    r = ct.rt.cmd("create", "--bundle", b.path, b.id)
    assert r.rc != 0, r
    assert ct.rt.list_ids() == []
