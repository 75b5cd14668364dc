/** The Speak view: not built yet. */
export const SpeakView = () => (
  <section aria-labelledby="speak-title">
    <h2 id="speak-title">Speak</h2>
    <p>Coming soon.</p>
  </section>
);
