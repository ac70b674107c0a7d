// Command stream_chat invokes a chat app in streaming mode through the Dify gRPC gateway and relays
// each event as it arrives: one JSON line per Dify event dict (the message's `raw`), on stdout.
// It is the Go counterpart of examples/python/stream_chat.py, on stubs generated from proto/ (see
// ../build.sh), to show the contract works from Go's gRPC stack too.
//
// Settings come from the environment: DIFY_GATEWAY_TARGET (default 127.0.0.1:50051),
// DIFY_GATEWAY_TOKEN (else DIFY_GATEWAY_DEMO_TOKEN, else TOKEN), DIFY_APP_ID (default the demo
// Chatbot); the query is the first argument (default "Hello"). Exit status 1 when the call fails.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"

	appv1 "difyexample.local/gen/dify/app/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const demoChatAppID = "a1c00000-0000-4000-8000-000000000001"

func env(names ...string) string {
	for _, name := range names {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return ""
}

func main() {
	os.Exit(run())
}

func run() int {
	target := env("DIFY_GATEWAY_TARGET")
	if target == "" {
		target = "127.0.0.1:50051"
	}
	appID := env("DIFY_APP_ID")
	if appID == "" {
		appID = demoChatAppID
	}
	token := env("DIFY_GATEWAY_TOKEN", "DIFY_GATEWAY_DEMO_TOKEN", "TOKEN")
	if token == "" {
		fmt.Fprintln(os.Stderr, "set DIFY_GATEWAY_TOKEN (or TOKEN, as npm start prints it) to the workspace token")
		return 2
	}
	query := "Hello"
	if len(os.Args) > 1 {
		query = os.Args[1]
	}

	// Plaintext, like the demo; grpc.WithTransportCredentials(credentials.NewTLS(...)) for TLS.
	// WithInsecure, not insecure.NewCredentials(): Debian's grpc-go 1.33 predates the latter.
	conn, err := grpc.Dial(target, grpc.WithInsecure())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		return 1
	}
	defer conn.Close()

	// Ctrl-C cancels the call; the gateway then stops the run in Dify.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)

	stream, err := appv1.NewChatServiceClient(conn).ChatInvokeStream(ctx, &appv1.ChatInvokeStreamRequest{AppId: appID, Query: query})
	if err != nil {
		return fail(err)
	}
	out := json.NewEncoder(os.Stdout) // Unbuffered: each line is written as its event arrives.
	out.SetEscapeHTML(false)
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return 0
		}
		if err != nil {
			return fail(err)
		}
		if err := out.Encode(msg.GetRaw().AsMap()); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			return 1
		}
	}
}

// fail reports the gRPC code, the google.rpc.ErrorInfo reason (Dify's code for upstream errors) and the message.
func fail(err error) int {
	st := status.Convert(err)
	reason := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
			if code := info.GetMetadata()["upstreamCode"]; code != "" {
				reason = code
			}
		}
	}
	fmt.Fprintf(os.Stderr, "error: %s (%s): %s\n", st.Code(), reason, st.Message())
	return 1
}
