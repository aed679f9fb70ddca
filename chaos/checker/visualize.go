package checker

import (
	"time"

	"github.com/anishathalye/porcupine"
)

// Span is a period of the run to mark on a visualization: a fault from its
// injection to its healing.
type Span struct {
	Start, End  int64
	Description string
	Details     string
}

// VisualizeRegister writes porcupine's HTML view of the keys that were not
// linearizable, with the faults drawn on a "faults" line, to path.
func VisualizeRegister(v RegisterVerdict, faults []Span, timeout time.Duration, path string) error {
	model := RegisterModel()
	info := v.Info
	if len(v.IllegalOps) > 0 {
		_, info = porcupine.CheckOperationsVerbose(model, v.IllegalOps, timeout)
	}
	var notes []porcupine.Annotation
	for _, f := range faults {
		notes = append(notes, porcupine.Annotation{
			Tag: "faults", Start: f.Start, End: f.End, Description: f.Description, Details: f.Details,
			BackgroundColor: "#f7c6c6",
		})
	}
	info.AddAnnotations(notes)
	return porcupine.VisualizePath(model, info, path)
}
