//! Running command provisioners: a program gets the request as JSON on stdin and prints the
//! result as JSON — bounded in time and output size.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use socle_platform::provision::{CommandError, CommandRunner};

#[derive(Clone, Debug)]
pub struct ProcessRunner {
    /// Relative program paths (`./provisioners/x`) are resolved here (the platform directory).
    pub base_dir: PathBuf,
    pub timeout: Duration,
    pub max_output: usize,
}

impl ProcessRunner {
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        Self {
            base_dir: base_dir.into(),
            timeout: Duration::from_secs(30),
            max_output: 1024 * 1024,
        }
    }
}

impl CommandRunner for ProcessRunner {
    fn run(&self, program: &str, args: &[String], input: &Value) -> Result<Value, CommandError> {
        let path = if program.contains('/') && !program.starts_with('/') {
            self.base_dir.join(program)
        } else {
            PathBuf::from(program)
        };
        let mut child = Command::new(&path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| CommandError::Start {
                program: path.clone(),
                source,
            })?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or(CommandError::MissingPipe("stdin"))?;
        let data = serde_json::to_vec(input).map_err(CommandError::Input)?;
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let max = self.max_output;
        let mut stdout = child
            .stdout
            .take()
            .ok_or(CommandError::MissingPipe("stdout"))?;
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let n = stdout.by_ref().take(max as u64 + 1).read_to_end(&mut buf);
            n.map(|_| buf)
        });
        let mut stderr = child
            .stderr
            .take()
            .ok_or(CommandError::MissingPipe("stderr"))?;
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.by_ref().take(64 * 1024).read_to_end(&mut buf);
            buf
        });
        let started = Instant::now();
        let status = loop {
            match child.try_wait().map_err(CommandError::Io)? {
                Some(s) => break s,
                None if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(CommandError::TimedOut {
                        timeout: self.timeout,
                    });
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let _ = writer.join();
        let out = reader
            .join()
            .map_err(|_| CommandError::ReaderPanicked)?
            .map_err(CommandError::Io)?;
        let err = String::from_utf8_lossy(&err_reader.join().unwrap_or_default())
            .trim()
            .to_owned();
        if !status.success() {
            return Err(CommandError::Exited {
                status,
                stderr: err,
            });
        }
        if out.len() > max {
            return Err(CommandError::OutputTooLarge { max });
        }
        serde_json::from_slice(&out).map_err(CommandError::NotJson)
    }
}
