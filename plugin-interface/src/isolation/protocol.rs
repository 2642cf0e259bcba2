//! What the host and a worker process say to each other over their Unix
//! socket: length-prefixed frames, each a kind byte and the kind's fields
//! in postcard. Everything a worker sends is untrusted input: frame
//! lengths are bounded and every frame is decoded, never assumed.

use std::io::{self, Read, Write};

/// The largest frame either side accepts (encoded arguments or results).
pub(crate) const MAX_FRAME: usize = 256 << 20;

/// An instance's state as `PluginState` saved it: its version and bytes.
pub(crate) type Snapshot = (u32, Vec<u8>);

/// Host to worker.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// Make an instance of `entry` (the only one when `None`) of the
    /// trait, to call by method index, restoring `state` into it when
    /// given (a snapshot of the instance it replaces).
    Instantiate {
        trait_name: String,
        entry: Option<String>,
        state: Option<Snapshot>,
    },
    /// Call method `method` of instance `handle` with encoded arguments.
    Call {
        handle: u32,
        method: u32,
        args: Vec<u8>,
    },
    /// Free instance `handle`.
    Release { handle: u32 },
    /// Read the unmaker counter of the trait.
    Counter { trait_name: String },
    /// The answer to the worker's [`Response::Callback`]: the dispatch's
    /// status and bytes.
    Returned { status: u32, bytes: Vec<u8> },
    /// Save the state of instance `handle` (a reload hands it over).
    SaveState { handle: u32 },
    /// Restore `state` into the fresh instance `handle`.
    LoadState { handle: u32, state: Snapshot },
}

/// Worker to host.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Response {
    /// The library is open and checked; requests may follow.
    Ready,
    /// The library was refused; the worker exits.
    Refused(String),
    /// The instance `handle` of `entry` was made.
    Instantiated { handle: u32, entry: String },
    /// The request failed, for the reason given.
    Failed(String),
    /// The dispatch entry's status and bytes, with the instance's state
    /// after the call when its implementation carries state.
    Dispatched {
        status: u32,
        bytes: Vec<u8>,
        state: Option<Snapshot>,
    },
    /// The unmaker counter, when the library has one for the trait.
    Counter(Option<u64>),
    /// The instance was freed.
    Released,
    /// While the host waits: call method `method` of the host's object
    /// `handle` with encoded arguments; the host answers
    /// [`Request::Returned`] and keeps waiting.
    Callback {
        handle: u64,
        method: u32,
        args: Vec<u8>,
    },
    /// While the host waits: the worker no longer holds the host's object
    /// `handle`; no answer.
    Drop { handle: u64 },
    /// The instance's state, when its implementation carries state.
    State(Option<Snapshot>),
    /// The state was restored.
    Loaded,
}

fn encode<T: serde::Serialize + ?Sized>(kind: u8, fields: &T) -> Vec<u8> {
    let mut frame = vec![kind];
    frame.extend(postcard::to_allocvec(fields).expect("plain fields always encode"));
    frame
}

fn decode<'a, T: serde::Deserialize<'a>>(what: &str, fields: &'a [u8]) -> Result<T, String> {
    match postcard::take_from_bytes::<T>(fields) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{what}: {} bytes left over", rest.len())),
        Err(error) => Err(format!("{what}: {error}")),
    }
}

impl Request {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Self::Instantiate {
                trait_name,
                entry,
                state,
            } => encode(1, &(trait_name, entry, state)),
            Self::Call {
                handle,
                method,
                args,
            } => encode(2, &(handle, method, args)),
            Self::Release { handle } => encode(3, handle),
            Self::Counter { trait_name } => encode(4, trait_name),
            Self::Returned { status, bytes } => encode(5, &(status, bytes)),
            Self::SaveState { handle } => encode(6, handle),
            Self::LoadState { handle, state } => encode(7, &(handle, state)),
        }
    }

    pub(crate) fn decode(frame: &[u8]) -> Result<Self, String> {
        let Some((&kind, fields)) = frame.split_first() else {
            return Err("an empty request".to_owned());
        };
        Ok(match kind {
            1 => {
                let (trait_name, entry, state) = decode("instantiate", fields)?;
                Self::Instantiate {
                    trait_name,
                    entry,
                    state,
                }
            }
            2 => {
                let (handle, method, args) = decode("call", fields)?;
                Self::Call {
                    handle,
                    method,
                    args,
                }
            }
            3 => Self::Release {
                handle: decode("release", fields)?,
            },
            4 => Self::Counter {
                trait_name: decode("counter", fields)?,
            },
            5 => {
                let (status, bytes) = decode("returned", fields)?;
                Self::Returned { status, bytes }
            }
            6 => Self::SaveState {
                handle: decode("save state", fields)?,
            },
            7 => {
                let (handle, state) = decode("load state", fields)?;
                Self::LoadState { handle, state }
            }
            other => return Err(format!("unknown request kind {other}")),
        })
    }
}

impl Response {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Self::Ready => encode(0x80, &()),
            Self::Refused(message) => encode(0x81, message),
            Self::Instantiated { handle, entry } => encode(0x82, &(handle, entry)),
            Self::Failed(message) => encode(0x83, message),
            Self::Dispatched {
                status,
                bytes,
                state,
            } => encode(0x84, &(status, bytes, state)),
            Self::Counter(counter) => encode(0x85, counter),
            Self::Released => encode(0x86, &()),
            Self::Callback {
                handle,
                method,
                args,
            } => encode(0x87, &(handle, method, args)),
            Self::Drop { handle } => encode(0x88, handle),
            Self::State(state) => encode(0x89, state),
            Self::Loaded => encode(0x8a, &()),
        }
    }

    pub(crate) fn decode(frame: &[u8]) -> Result<Self, String> {
        let Some((&kind, fields)) = frame.split_first() else {
            return Err("an empty response".to_owned());
        };
        Ok(match kind {
            0x80 => {
                decode::<()>("ready", fields)?;
                Self::Ready
            }
            0x81 => Self::Refused(decode("refused", fields)?),
            0x82 => {
                let (handle, entry) = decode("instantiated", fields)?;
                Self::Instantiated { handle, entry }
            }
            0x83 => Self::Failed(decode("failed", fields)?),
            0x84 => {
                let (status, bytes, state) = decode("dispatched", fields)?;
                Self::Dispatched {
                    status,
                    bytes,
                    state,
                }
            }
            0x85 => Self::Counter(decode("counter", fields)?),
            0x86 => {
                decode::<()>("released", fields)?;
                Self::Released
            }
            0x87 => {
                let (handle, method, args) = decode("callback", fields)?;
                Self::Callback {
                    handle,
                    method,
                    args,
                }
            }
            0x88 => Self::Drop {
                handle: decode("drop", fields)?,
            },
            0x89 => Self::State(decode("state", fields)?),
            0x8a => {
                decode::<()>("loaded", fields)?;
                Self::Loaded
            }
            other => return Err(format!("unknown response kind {other:#x}")),
        })
    }
}

/// Writes one frame: its length (`u32`, little-endian), then `payload`.
pub(crate) fn write_frame(to: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len as usize <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(payload);
    to.write_all(&frame)
}

/// Reads one frame; `None` when the other side closed the socket between
/// frames.
pub(crate) fn read_frame(from: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut read = 0;
    while read < len.len() {
        match from.read(&mut len[read..]) {
            Ok(0) if read == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => read += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes, more than {MAX_FRAME}"),
        ));
    }
    // Read as it arrives: the length is the other side's word, not an
    // allocation to make up front.
    let mut payload = Vec::new();
    from.take(len as u64).read_to_end(&mut payload)?;
    if payload.len() != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_survives_its_frame() {
        let requests = [
            Request::Instantiate {
                trait_name: "Greeter".into(),
                entry: Some("English".into()),
                state: Some((2, vec![7, 8])),
            },
            Request::Instantiate {
                trait_name: "Greeter".into(),
                entry: None,
                state: None,
            },
            Request::Call {
                handle: 7,
                method: 1,
                args: vec![5, b'w', b'o', b'r', b'l', b'd'],
            },
            Request::Release { handle: 7 },
            Request::Counter {
                trait_name: "Greeter".into(),
            },
            Request::Returned {
                status: 1,
                bytes: b"no".to_vec(),
            },
            Request::SaveState { handle: 3 },
            Request::LoadState {
                handle: 4,
                state: (2, vec![9]),
            },
        ];
        for request in requests {
            let mut wire = Vec::new();
            write_frame(&mut wire, &request.encode()).unwrap();
            let frame = read_frame(&mut wire.as_slice()).unwrap().unwrap();
            assert_eq!(Request::decode(&frame).unwrap(), request);
        }
        let responses = [
            Response::Ready,
            Response::Refused("no".into()),
            Response::Instantiated {
                handle: 1,
                entry: "English".into(),
            },
            Response::Failed("why".into()),
            Response::Dispatched {
                status: 0,
                bytes: vec![1, 2],
                state: None,
            },
            Response::Dispatched {
                status: 0,
                bytes: vec![],
                state: Some((1, vec![3])),
            },
            Response::Counter(Some(3)),
            Response::Counter(None),
            Response::Released,
            Response::Callback {
                handle: u64::MAX,
                method: 2,
                args: vec![3],
            },
            Response::Drop { handle: 9 },
            Response::State(None),
            Response::State(Some((1, vec![5, 6]))),
            Response::Loaded,
        ];
        for response in responses {
            let frame = response.encode();
            assert_eq!(Response::decode(&frame).unwrap(), response);
        }
    }

    #[test]
    fn bad_frames_are_errors() {
        assert!(read_frame(&mut &[][..]).unwrap().is_none());
        assert!(read_frame(&mut &[1, 0][..]).is_err());
        assert!(read_frame(&mut &[0xff, 0xff, 0xff, 0xff][..]).is_err());
        assert!(read_frame(&mut &[3, 0, 0, 0, 1][..]).is_err());
        assert!(Response::decode(&[]).is_err());
        assert!(Response::decode(&[0x99]).is_err());
        assert!(Response::decode(&[0x84, 0]).is_err());
        assert!(Response::decode(&[0x80, 0]).is_err());
        assert!(Request::decode(&[2, 1]).is_err());
    }
}
