//! Calls any RPC with an already-encoded request, as a client built from another proto would:
//! for tests that walk every method of the descriptor set.

use bytes::{Buf, BufMut};
use http::uri::PathAndQuery;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Request, Status};

/// Messages as raw bytes, both ways.
#[derive(Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

/// What one call came to: the status code of its answer. A stream is OK once the server accepted
/// it (its handler checked the caller and the request and started sending): what it sends after
/// that is the stream's content, which the stream tests check, not the call's answer.
pub async fn call(
    channel: &Channel,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
    streaming: bool,
) -> tonic::Code {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    if let Err(error) = grpc.ready().await {
        panic!("the server is gone: {error}");
    }
    let path = PathAndQuery::try_from(path).expect("method path");
    let mut request = Request::new(body);
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("header value");
        request.metadata_mut().insert("authorization", value);
    }
    if !streaming {
        return match grpc.unary(request, path, RawCodec).await {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        };
    }
    match grpc.server_streaming(request, path, RawCodec).await {
        Err(status) => status.code(),
        Ok(_accepted) => tonic::Code::Ok,
    }
}
