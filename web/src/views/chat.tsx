/** The Chat view: not built yet. */
export const ChatView = () => (
  <section aria-labelledby="chat-title">
    <h2 id="chat-title">Chat</h2>
    <p>Coming soon.</p>
  </section>
);
