"""Offline preflight: runs the program under mocks and gates it with the policy pack over gRPC."""
