/** The Transcribe view: not built yet. */
export const TranscribeView = () => (
  <section aria-labelledby="transcribe-title">
    <h2 id="transcribe-title">Transcribe</h2>
    <p>Coming soon.</p>
  </section>
);
