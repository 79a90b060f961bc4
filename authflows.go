package loam

import "time"

// Lifetimes of the tokens of the auth flows, and how many tries one takes.
const (
	OTPTTL           = 5 * time.Minute
	VerificationTTL  = 72 * time.Hour
	ResetTTL         = time.Hour
	EmailChangeTTL   = time.Hour
	MaxTokenAttempts = 5
)
