package auth

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"callhook/internal/store"
	"callhook/internal/store/storetest"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	return storetest.Open(t)
}

// An unknown user name is checked against a hash as costly as a real
// user's, so the time a wrong sign-in takes does not tell which names exist.
func TestDummyHashCostsAsMuchAsARealOne(t *testing.T) {
	tests := []struct {
		name string
		cost int
		want int
	}{
		{"default", 0, bcrypt.DefaultCost},
		{"lowered", 5, 5},
		{"raised", 11, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{Store: openStore(t), Cost: tt.cost}
			ctx := context.Background()
			u, err := s.CreateUser(ctx, "alice", "alice-password", store.RoleViewer)
			if err != nil {
				t.Fatal(err)
			}
			real, err := bcrypt.Cost([]byte(u.PasswordHash))
			if err != nil || real != tt.want {
				t.Fatalf("real hash cost = %d, %v; want %d", real, err, tt.want)
			}
			if _, _, err := s.Login(ctx, "mallory", "alice-password"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("unknown user: %v, want ErrBadCredentials", err)
			}
			dummy, err := bcrypt.Cost(s.dummyHash())
			if err != nil || dummy != real {
				t.Errorf("dummy hash cost = %d, %v; real users' = %d", dummy, err, real)
			}
		})
	}
}
