package bolt

import (
	"context"
	"errors"
	"fmt"

	"github.com/sampan-dev/sampan/internal/storage"
)

// Compact discards the history of revisions < revision. It first records the
// compacted revision (durably; from then on watches from before it fail with
// storage.ErrCompacted), then deletes the records in chunks, each in a writer
// batch. Compacting to a revision at or below the compacted one only finishes
// deleting what an interrupted compaction may have left; a revision above the
// current one fails with storage.ErrFutureRevision.
func (s *Store) Compact(ctx context.Context, revision int64) error {
	if _, err := s.compact(ctx, revision); err != nil {
		return fmt.Errorf("compacting to revision %d: %w", revision, err)
	}
	return nil
}

// compact is Compact returning how many history records it deleted.
func (s *Store) compact(ctx context.Context, revision int64) (int, error) {
	if revision <= 0 {
		return 0, nil
	}
	if err := s.do(ctx, &op{kind: opCompact, rev: revision}); err != nil {
		return 0, err
	}
	removed := 0
	for {
		o := &op{kind: opCompactChunk, rev: revision}
		if err := s.do(ctx, o); err != nil {
			return removed, err
		}
		removed += o.removed
		if o.removed < s.cfg.chunk {
			return removed, nil
		}
	}
}

// runCompactor compacts every cfg.CompactInterval, keeping the latest
// cfg.RetainRevisions revisions, until ctx ends.
func (s *Store) runCompactor(ctx context.Context) {
	defer s.loops.Done()
	t := s.cfg.Clock.NewTimer(s.cfg.CompactInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		s.compactOnce(ctx)
		t.Reset(s.cfg.CompactInterval)
	}
}

func (s *Store) compactOnce(ctx context.Context) {
	target := s.rev.Load() - s.cfg.RetainRevisions + 1
	if target <= s.compacted.Load() {
		return
	}
	start := s.cfg.Clock.Now()
	removed, err := s.compact(ctx, target)
	if err != nil {
		if !errors.Is(err, storage.ErrClosed) && ctx.Err() == nil {
			s.logger.Error("compacting history failed", "revision", target, "err", err)
		}
		return
	}
	s.logger.Info("compacted history", "revision", target, "removed", removed, "duration", s.cfg.Clock.Since(start))
}
