//! A TCP proxy between pgbarge and a server, for fault tests: it forwards
//! bytes both ways until told to break one connection, either by cutting
//! it (both sockets closed, as a reset link) or by stalling it (sockets
//! left open, no byte forwarded any more: a dead NAT entry, a frozen VM,
//! a pooler that accepts and forwards nothing), or by losing a reply (the
//! statement arrives and runs, its answer never comes back).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What happens to the first connection whose client has sent more than
/// the armed number of bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Cut = 1,
    Stall = 2,
    /// The client's bytes reach the server, then the link stalls: the
    /// statement runs (a COMMIT commits), its answer is lost.
    LoseReply = 3,
}

/// The fault waiting to strike, the byte count it strikes after, and
/// bytes that must also be in what the client sends (if any).
type Armed = Arc<(AtomicU8, AtomicU64, std::sync::Mutex<Option<Vec<u8>>>)>;

pub struct Proxy {
    pub port: u16,
    armed: Armed,
    /// Set when the fault has struck.
    pub struck: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new((AtomicU8::new(0), AtomicU64::new(0), Default::default()));
        let struck = Arc::new(AtomicBool::new(false));
        let (a, s) = (armed.clone(), struck.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (a, s) = (a.clone(), s.clone());
                std::thread::spawn(move || pump(client, server, a, s));
            }
        });
        Proxy {
            port,
            armed,
            struck,
        }
    }

    /// The next connection whose client sends more than `after` bytes
    /// (counted from its start) suffers `fault`; later ones do not.
    pub fn arm(&self, fault: Fault, after: u64) {
        self.armed.1.store(after, Ordering::SeqCst);
        self.armed.0.store(fault as u8, Ordering::SeqCst);
    }

    /// The next connection whose client sends `needle` (within one read:
    /// a statement's text) suffers `fault` as it sends it: the statement
    /// never arrives.
    pub fn arm_on(&self, fault: Fault, needle: &str) {
        self.arm_on_after(fault, needle, 0);
    }

    /// As `arm_on`, on the first read holding `needle` after the client
    /// has sent more than `after` bytes.
    pub fn arm_on_after(&self, fault: Fault, needle: &str, after: u64) {
        *self.armed.2.lock().unwrap() = Some(needle.as_bytes().to_vec());
        self.arm(fault, after);
    }
}

fn pump(client: TcpStream, server: TcpStream, armed: Armed, struck: Arc<AtomicBool>) {
    let stalled = Arc::new(AtomicBool::new(false));
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let st = stalled.clone();
    // Server to client: forwarded until the connection stalls.
    std::thread::spawn(move || copy_until(s2, c2, &st, None));
    // Client to server: counted, and where the fault strikes.
    copy_until(client, server, &stalled, Some((armed, struck)));
}

fn copy_until(
    mut from: TcpStream,
    mut to: TcpStream,
    stalled: &AtomicBool,
    fault: Option<(Armed, Arc<AtomicBool>)>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        sent += n as u64;
        if let Some((armed, struck)) = &fault {
            let kind = armed.0.load(Ordering::SeqCst);
            let matches = |chunk: &[u8]| match &*armed.2.lock().unwrap() {
                None => true,
                Some(n) => chunk.windows(n.len()).any(|w| w == &n[..]),
            };
            if kind != 0
                && sent > armed.1.load(Ordering::SeqCst)
                && matches(&buf[..n])
                && armed
                    .0
                    .compare_exchange(kind, 0, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                struck.store(true, Ordering::SeqCst);
                if kind == Fault::Cut as u8 {
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
                stalled.store(true, Ordering::SeqCst);
                if kind == Fault::LoseReply as u8 {
                    let _ = to.write_all(&buf[..n]);
                }
            }
        }
        // A stalled connection keeps its sockets and forwards nothing,
        // ever: the peers see a live, silent link.
        while stalled.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    if !stalled.load(Ordering::SeqCst) {
        let _ = to.shutdown(Shutdown::Write);
    }
}
